#!/usr/bin/env python3
"""Writes the http_session seed corpus and dictionary from api/openapi.json: one request per
documented operation, with a body built from its schema (every property, values of the right
type and format), signed in as the role the operation needs (@MEMBER@, @FLEET@, @ADMIN@ become
real tokens in the fuzzer, server_fixture.hpp). Run it again when the API grows:
    python3 fuzz/make_seeds.py
"""
import hashlib
import json
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
spec = json.load(open(os.path.join(ROOT, "api", "openapi.json")))
schemas = spec.get("components", {}).get("schemas", {})
words = set()


def resolve(schema):
    while isinstance(schema, dict) and "$ref" in schema:
        schema = schemas[schema["$ref"].split("/")[-1]]
    return schema


def instance(schema, depth=0):
    schema = resolve(schema)
    if not isinstance(schema, dict) or depth > 6:
        return None
    for key in ("oneOf", "anyOf", "allOf"):
        if key in schema:
            if key == "allOf":
                merged = {}
                for part in schema[key]:
                    value = instance(part, depth + 1)
                    if isinstance(value, dict):
                        merged.update(value)
                return merged
            return instance(schema[key][0], depth + 1)
    if "example" in schema:
        return schema["example"]
    if "enum" in schema:
        words.update(str(v) for v in schema["enum"])
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = [k for k in kind if k != "null"][0]
    if kind == "object" or "properties" in schema:
        out = {}
        for name, sub in schema.get("properties", {}).items():
            words.add(name)
            if resolve(sub).get("readOnly"):
                continue
            out[name] = instance(sub, depth + 1)
        return out
    if kind == "array":
        return [instance(schema.get("items", {}), depth + 1)]
    if kind == "integer":
        return max(schema.get("minimum", 1), 1)
    if kind == "number":
        return schema.get("minimum", 1.5)
    if kind == "boolean":
        return True
    fmt = schema.get("format", "")
    if fmt == "date-time":
        return "2026-12-04T10:00:00Z"
    if fmt == "date":
        return "2026-12-07"
    if fmt == "email":
        return "someone@example.com"
    if fmt in ("uri", "url"):
        return "https://example.com/x"
    if "vin" in schema.get("description", "").lower():
        return "1HGCM82633A004352"
    return "x" * max(schema.get("minLength", 1), 1)


def role_for(path, op):
    text = json.dumps(op).lower()
    if "/admin" in path or "admin" in op.get("summary", "").lower():
        return "@ADMIN@"
    if "fleet" in text:
        return "@FLEET@"
    return "@MEMBER@"


def main():
    out_dir = os.path.join(ROOT, "fuzz", "corpus", "http_session")
    os.makedirs(out_dir, exist_ok=True)
    written = 0
    for path, ops in spec["paths"].items():
        words.update(seg for seg in path.split("/") if seg and not seg.startswith("{"))
        for method, op in ops.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            target = re.sub(r"\{vehicle_?[iI]d\}|\{id\}", "@VEHICLE@", path)
            target = re.sub(r"\{[^}]+\}", "1", target)
            query = [p for p in op.get("parameters", []) if isinstance(p, dict) and p.get("in") == "query"]
            if query:
                target += "?" + "&".join(f"{p['name']}={'2' if p.get('schema', {}).get('type') == 'integer' else 'x'}"
                                         for p in query[:4])
                words.update(p["name"] for p in query)
            headers = [f"{method.upper()} {target} HTTP/1.1", "Host: fuzz", f"Authorization: Bearer {role_for(path, op)}"]
            body = b""
            content = op.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                body = json.dumps(instance(content["application/json"].get("schema", {}))).encode()
                headers.append("Content-Type: application/json")
            elif "text/csv" in content:
                body = b"vin,make,model,year\n1HGCM82633A004352,Honda,Accord,2003\n"
                headers.append("Content-Type: text/csv")
            if body or method in ("post", "put", "patch"):
                headers.append(f"Content-Length: {len(body)}")
            request = ("\r\n".join(headers) + "\r\n\r\n").encode() + body
            name = hashlib.sha1(request).hexdigest()[:16]
            with open(os.path.join(out_dir, name), "wb") as f:
                f.write(request)
            written += 1
    # A few shapes the API documents nowhere but every server must survive.
    extra = [
        b"GET /health HTTP/1.1\r\nHost: a\r\n\r\nGET /health HTTP/1.1\r\nHost: a\r\n\r\n",
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n5\r\n{\"a\":\r\n2\r\n1}\r\n0\r\n\r\n",
        b"GET /api/v1/ws?token=@MEMBER@ HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        b"OPTIONS /api/v1/vehicles HTTP/1.1\r\nHost: a\r\nOrigin: https://evil.example\r\nAccess-Control-Request-Method: DELETE\r\n\r\n",
        b"GET /api/v1/vehicles?page=1&page_size=100&q=%E2%82%AC HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer @ADMIN@\r\n\r\n",
        b"HEAD / HTTP/1.0\r\n\r\n",
    ]
    for request in extra:
        with open(os.path.join(out_dir, hashlib.sha1(request).hexdigest()[:16]), "wb") as f:
            f.write(request)
    http_words = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "HTTP/1.1", "HTTP/1.0", "\\x0d\\x0a",
                  "Content-Length: ", "Transfer-Encoding: chunked", "Content-Type: application/json",
                  "Content-Type: text/csv", "Authorization: Bearer ", "@MEMBER@", "@FLEET@", "@ADMIN@", "@VEHICLE@",
                  "Connection: close", "Connection: keep-alive", "Expect: 100-continue", "Upgrade: websocket",
                  "Origin: ", "Accept: text/html", "If-None-Match: ", "Range: bytes=", "Idempotency-Key: ",
                  "%00", "%2F", "%2e%2e", "..", "?", "&", "=", "null", "true", "false", "[]", "{}", "\\\"",
                  "1e308", "-1", "9223372036854775808", "\\\\u0000", "\\\\ud800"]
    with open(os.path.join(ROOT, "fuzz", "dict", "http_session.dict"), "w") as f:
        f.write("# HTTP, the API's paths, fields and values (fuzz/make_seeds.py writes this file)\n")
        for word in http_words + sorted(w for w in words if 0 < len(w) <= 40):
            escaped = word.replace("\\", "\\\\") if word not in http_words else word
            escaped = escaped.replace('"', '\\"') if word not in http_words else escaped
            f.write(f'"{escaped}"\n')
    print(f"{written} requests, {len(words)} words")


main()
