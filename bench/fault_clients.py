#!/usr/bin/env python3
"""Hostile clients for bench/fault_clients.sh (issue 22, part 2), loopback only.

  fault_clients.py storm     PORT TOKEN TOTAL CONCURRENCY
  fault_clients.py slowloris PORT TOKEN READ_TIMEOUT_S IDLE_TIMEOUT_S MARGIN_S MASS VIN
  fault_clients.py wsflood   PORT TOKEN SERVER_PID VEHICLE_ID VIN SLOW_SOCKETS RATE MAX_SECONDS MAX_QUEUED

Each prints "PASS name: detail" / "FAIL name: detail" lines, then "FIGURES section {json}".
"""
import asyncio
import base64
import http.client
import json
import os
import random
import socket
import struct
import sys
import threading
import time
from collections import Counter


def check(ok, name, detail):
    print(("PASS" if ok else "FAIL") + f" {name}: {detail}", flush=True)
    return ok


def figures(section, values):
    print(f"FIGURES {section} " + json.dumps(values, sort_keys=True), flush=True)


def metrics(port):
    """The server's Prometheus text as {name{labels}: value}."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    conn.close()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            try:
                out[key] = float(value)
            except ValueError:
                pass
    return out


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def rst(writer):
    """Closes with a TCP reset (SO_LINGER 0): the server sees ECONNRESET, not a FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    writer.transport.abort()


# ---------------------------------------------------------------------------------------------
# (a) 10,000 connections opened and dropped


async def storm(port, token, total, concurrency):
    auth = f"Authorization: Bearer {token}\r\n"
    modes = [
        "fin_before_sending",  # connect, close at once
        "rst_before_sending",  # connect, reset at once
        "half_request_line",  # "GET /heal", then close
        "mid_body_rst",  # a POST's header and a third of its declared body, then reset
        "request_then_close",  # a whole authenticated GET, closed before the answer is read
        "rst_mid_response",  # a whole GET, reset after the first byte of the answer
        "idle_then_close",  # connect, wait up to 300 ms sending nothing, close
    ]
    counts = Counter()
    errors = Counter()
    sem = asyncio.Semaphore(concurrency)

    async def one(i):
        mode = modes[i % len(modes)]
        async with sem:
            try:
                reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 10)
            except Exception as e:  # noqa: BLE001 - every failure is counted
                errors["connect " + type(e).__name__] += 1
                return
            counts[mode] += 1
            try:
                if mode == "fin_before_sending":
                    writer.close()
                elif mode == "rst_before_sending":
                    rst(writer)
                elif mode == "half_request_line":
                    writer.write(b"GET /heal")
                    await writer.drain()
                    writer.close()
                elif mode == "mid_body_rst":
                    body = b'{"vin":"5YJZ1MPX5MA0'
                    writer.write(
                        (
                            f"POST /api/v1/vehicles HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}"
                            f"Content-Type: application/json\r\nContent-Length: {len(body) * 3}\r\n\r\n"
                        ).encode()
                        + body
                    )
                    await writer.drain()
                    rst(writer)
                elif mode == "request_then_close":
                    writer.write(f"GET /api/v1/vehicles HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}\r\n".encode())
                    await writer.drain()
                    writer.close()
                elif mode == "rst_mid_response":
                    writer.write(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" * 3)
                    await writer.drain()
                    await asyncio.wait_for(reader.read(1), 10)
                    rst(writer)
                else:
                    await asyncio.sleep(random.random() * 0.3)
                    writer.close()
            except Exception as e:  # noqa: BLE001
                errors[mode + " " + type(e).__name__] += 1
                writer.transport.abort()

    before = metrics(port)
    started = time.monotonic()
    await asyncio.gather(*(one(i) for i in range(total)))
    seconds = time.monotonic() - started
    await asyncio.sleep(1)
    after = metrics(port)
    accepted = after["motorpool_http_connections_accepted_total"] - before["motorpool_http_connections_accepted_total"]
    rejected = after["motorpool_http_connections_rejected_total"] - before["motorpool_http_connections_rejected_total"]
    opened = sum(counts.values())
    check(opened == total and not errors, "storm.connections", f"{opened}/{total} opened and dropped in {seconds:.1f} s, client errors {dict(errors) or 'none'}")
    # The server saw every one of them (>=: the well-behaved client may open some meanwhile).
    check(accepted >= total and rejected == 0, "storm.accepted", f"server accepted {accepted:.0f} connections, refused {rejected:.0f}")
    figures("storm", {"connections": opened, "seconds": round(seconds, 2), "per_mode": dict(counts),
                      "client_errors": dict(errors), "server_accepted": accepted, "server_rejected": rejected})


# ---------------------------------------------------------------------------------------------
# (b) slow-loris: a fast prefix, then one byte per second; the server must close at its read timeout


def presign(port, token):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    body = json.dumps({"filename": "slow.png", "content_type": "image/png", "size_bytes": 4096, "purpose": "chat_attachment"})
    conn.request("POST", "/api/v1/files/presign", body=body,
                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    conn.close()
    if r.status != 201:
        raise SystemExit(f"presign: HTTP {r.status} {data[:200]!r}")
    url = json.loads(data)["url"]
    return url[url.index("/", url.index("//") + 2):]  # path and query


async def trickle(port, prefix, slow, deadline_s):
    """Sends prefix at once, then `slow` one byte per second. Returns (seconds from the prefix to the
    server's close or None, bytes the server sent, how it closed)."""
    connecting = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    # The server's read timer starts when the prefix arrives; a silent connection's idle timer when
    # it is accepted, which may be before this coroutine resumes from the connect (a busy loop).
    started = time.monotonic() if prefix else connecting
    writer.write(prefix)
    await writer.drain()
    closed = asyncio.get_running_loop().create_future()
    received = bytearray()

    async def watch():
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    closed.set_result(("eof", time.monotonic()))
                    return
                received.extend(data)
        except (ConnectionResetError, BrokenPipeError) as e:
            closed.set_result((type(e).__name__, time.monotonic()))

    watcher = asyncio.create_task(watch())
    try:
        for i in range(len(slow)):
            try:
                await asyncio.wait_for(asyncio.shield(closed), 1.0)
                break
            except asyncio.TimeoutError:
                pass
            if time.monotonic() - started > deadline_s:
                break
            try:
                writer.write(slow[i:i + 1])
                await writer.drain()
            except (ConnectionResetError, BrokenPipeError):
                break
        try:
            how, at = await asyncio.wait_for(asyncio.shield(closed), max(0.1, deadline_s - (time.monotonic() - started)))
            return at - started, bytes(received), how
        except asyncio.TimeoutError:
            return None, bytes(received), "still open"
    finally:
        watcher.cancel()
        writer.transport.abort()


async def slowloris(port, token, timeout_s, idle_s, margin_s, mass, vin):
    host = "Host: 127.0.0.1\r\n"
    auth = f"Authorization: Bearer {token}\r\n"
    pad = b"X-Slow-Loris: " + b"a" * 200 + b"\r\n\r\n"  # trickled: the header never ends in time
    body_len = 300
    json_body = b'{"vin":"' + b"A" * (body_len - 10) + b'"}'
    ws_key = base64.b64encode(os.urandom(16)).decode()
    uploads = iter([presign(port, token), presign(port, token)])

    def put_upload(path):
        return f"PUT {path} HTTP/1.1\r\n{host}Content-Type: image/png\r\nContent-Length: 4096\r\n"

    # (name, route class, prefix sent at once, bytes trickled one per second); the last, a connection
    # that never sends a byte, is held for the idle timeout instead of the read timeout
    cases = [
        ("health.header", "GET /health", f"GET /health HTTP/1.1\r\n{host}".encode(), pad),
        ("health.body", "GET /health + body", f"GET /health HTTP/1.1\r\n{host}Content-Length: {body_len}\r\n\r\n".encode(), json_body),
        ("get_json.header", "GET /api/v1/vehicles (bearer)", f"GET /api/v1/vehicles HTTP/1.1\r\n{host}{auth}".encode(), pad),
        ("post_json.header", "POST /api/v1/vehicles (bearer)",
         f"POST /api/v1/vehicles HTTP/1.1\r\n{host}{auth}Content-Type: application/json\r\nContent-Length: {body_len}\r\n".encode(), pad),
        ("post_json.body", "POST /api/v1/vehicles (bearer)",
         f"POST /api/v1/vehicles HTTP/1.1\r\n{host}{auth}Content-Type: application/json\r\nContent-Length: {body_len}\r\n\r\n".encode(), json_body),
        ("post_json.chunked_body", "POST /api/v1/vehicles (bearer, chunked)",
         f"POST /api/v1/vehicles HTTP/1.1\r\n{host}{auth}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".encode(),
         b"".join(b"1\r\n" + bytes([c]) + b"\r\n" for c in json_body)),
        ("login.body", "POST /api/v1/auth/login (no token)",
         f"POST /api/v1/auth/login HTTP/1.1\r\n{host}Content-Type: application/json\r\nContent-Length: {body_len}\r\n\r\n".encode(), json_body),
        ("telemetry.body", "POST /api/v1/vehicles/{id}/telemetry (bearer)",
         f"POST /api/v1/vehicles/{vin}/telemetry HTTP/1.1\r\n{host}{auth}Content-Type: application/json\r\nContent-Length: {body_len}\r\n\r\n".encode(), json_body),
        ("ws_upgrade.header", "GET /api/v1/ws (upgrade)",
         (f"GET /api/v1/ws?token={token} HTTP/1.1\r\n{host}Upgrade: websocket\r\nConnection: Upgrade\r\n"
          f"Sec-WebSocket-Key: {ws_key}\r\nSec-WebSocket-Version: 13\r\n").encode(), pad),
        ("upload.header", "PUT /api/v1/files/{id}/content (signed)", put_upload(next(uploads)).encode(), pad),
        ("upload.body", "PUT /api/v1/files/{id}/content (signed)", (put_upload(next(uploads)) + "\r\n").encode(),
         b"\x89PNG\r\n\x1a\n" + b"\0" * 4088),
        ("import_csv.body", "POST /api/v1/vehicles/import (bearer, text/csv)",
         f"POST /api/v1/vehicles/import HTTP/1.1\r\n{host}{auth}Content-Type: text/csv\r\nContent-Length: {body_len}\r\n\r\n".encode(),
         b"vin,make,model\n" + b"x" * (body_len - 15)),
        ("silent", "a connection that sends nothing", b"", b""),
    ]
    deadline = max(timeout_s, idle_s) + margin_s + 5
    low, high = timeout_s - 0.5, timeout_s + margin_s
    before = metrics(port)
    tasks = [trickle(port, prefix, slow, deadline) for _, _, prefix, slow in cases]
    # The mass: many slow-loris connections at once, spread over the route classes above.
    tasks += [trickle(port, cases[i % 9][2], cases[i % 9][3], deadline) for i in range(mass)]
    results = await asyncio.gather(*tasks)
    after = metrics(port)
    for (name, route, prefix, _), (seconds, got, how) in zip(cases, results):
        answer = got.split(b"\r\n", 1)[0].decode(errors="replace") if got else "nothing"
        lo, hi = (low, high) if prefix else (idle_s - 0.5, idle_s + margin_s)
        ok = seconds is not None and lo <= seconds <= hi
        shown = f"{seconds:.2f} s" if seconds is not None else f"not closed within {deadline:.0f} s"
        check(ok, f"slowloris.{name}", f"{route}: closed after {shown} ({how}; server sent: {answer}); bound {lo:.1f}-{hi:.1f} s")
    mass_times = sorted(r[0] for r in results[len(cases):] if r[0] is not None)
    mass_ok = len(mass_times) == mass and all(low <= t <= high for t in mass_times)
    if mass:
        check(mass_ok, "slowloris.mass", f"{len(mass_times)}/{mass} concurrent trickling connections closed, "
              f"after {mass_times[0]:.2f} / {mass_times[len(mass_times) // 2]:.2f} / {mass_times[-1]:.2f} s (min/median/max)"
              if mass_times else f"0/{mass} closed")
    timeouts = after["motorpool_http_read_timeouts_total"] - before["motorpool_http_read_timeouts_total"]
    # Counted by the server as read timeouts, not closed for some other reason.
    slow_clients = len(cases) - 1 + mass  # the silent one is an idle keep-alive wait, not counted
    check(timeouts >= slow_clients, "slowloris.counted", f"server counted {timeouts:.0f} read timeouts for {slow_clients} slow clients")
    figures("slowloris", {"read_timeout_s": timeout_s, "idle_timeout_s": idle_s, "cases": {c[0]: (round(r[0], 3) if r[0] is not None else None) for c, r in zip(cases, results)},
                          "mass": mass, "mass_closed": len(mass_times),
                          "mass_max_s": round(mass_times[-1], 3) if mass_times else None,
                          "server_read_timeouts": timeouts})


# ---------------------------------------------------------------------------------------------
# (c) WebSocket subscribers of a busy topic that never read


def ws_connect(port, token, rcvbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)  # before connect: the window stays small
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET /api/v1/ws?token={token} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(1)  # byte by byte: nothing after the header may be swallowed
        if not chunk:
            raise ConnectionError("closed during the handshake")
        head += chunk
    if not head.startswith(b"HTTP/1.1 101"):
        raise ConnectionError("upgrade refused: " + head.split(b"\r\n", 1)[0].decode())
    return s


def ws_send(s, text, opcode=1):
    data = text.encode() if isinstance(text, str) else text
    mask = os.urandom(4)
    n = len(data)
    header = bytes([0x80 | opcode])
    if n < 126:
        header += bytes([0x80 | n])
    elif n < 65536:
        header += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        header += bytes([0x80 | 127]) + struct.pack("!Q", n)
    s.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))


def recv_exact(s, n):
    out = bytearray()
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise ConnectionError("closed")
        out.extend(chunk)
    return bytes(out)


def ws_recv(s):
    """One whole frame from the server: (opcode, payload)."""
    b0, b1 = recv_exact(s, 2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack("!H", recv_exact(s, 2))[0]
    elif n == 127:
        n = struct.unpack("!Q", recv_exact(s, 8))[0]
    return b0 & 0x0F, recv_exact(s, n)


def ws_subscribe(s, topic):
    ws_send(s, json.dumps({"type": "SUBSCRIBE", "topic": topic}))
    while True:
        opcode, payload = ws_recv(s)
        if opcode == 1:
            frame = json.loads(payload)
            if frame.get("type") == "SUBSCRIBED":
                return
            if frame.get("type") == "ERROR":
                raise ConnectionError("SUBSCRIBE refused: " + payload.decode())


def wsflood(port, token, pid, vehicle_id, vin, slow_count, rate, max_seconds, max_queued):
    topic = f"vehicle.{vehicle_id}"
    base_metrics = metrics(port)
    rss_before = rss_kib(pid)

    # The control: a subscriber that reads everything, which must not be dropped.
    control = ws_connect(port, token)
    ws_subscribe(control, topic)
    control.settimeout(0.5)
    got = Counter()
    stop = threading.Event()
    stop_reader = threading.Event()

    def read_control():
        while not stop_reader.is_set():
            try:
                opcode, payload = ws_recv(control)
            except socket.timeout:
                continue
            except (ConnectionError, OSError):
                got["closed"] += 1
                return
            if opcode == 1 and b'"SIGNALS"' in payload:
                got["signals"] += 1
                got["bytes"] = max(got["bytes"], len(payload))
            elif opcode == 9:
                ws_send(control, payload, opcode=10)  # pong
            elif opcode == 8:
                got["closed"] += 1
                return

    reader = threading.Thread(target=read_control, daemon=True)
    reader.start()

    # The slow ones: subscribe, then never read again (and a receive window of a few KiB).
    slow = []
    for _ in range(slow_count):
        s = ws_connect(port, token, rcvbuf=4096)
        ws_subscribe(s, topic)
        slow.append(s)
    opened = metrics(port)["motorpool_ws_sockets_open"] - base_metrics["motorpool_ws_sockets_open"]
    check(opened == slow_count + 1, "ws.opened", f"{opened:.0f} sockets open ({slow_count} never reading + 1 reading), subscribed to {topic}")

    # The busy topic: one ingest batch (one sample, nine signals) per frame, at `rate` per second.
    acked = Counter()
    t_base = int(time.time() * 1000) - 86_400_000

    def publish(worker, workers):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        i = worker
        interval = workers / rate
        next_at = time.monotonic()
        while not stop.is_set():
            sample = {"t_ms": t_base + i, "speed_kmh": i % 200, "rpm": 800 + i % 5000, "odometer_km": 1000 + i / 10,
                      "soc_pct": i % 100, "fuel_level_pct": (i * 7) % 100, "fuel_rate_lph": (i % 30) / 3,
                      "latitude": 37.7 + (i % 1000) / 1e4, "longitude": -122.4 + (i % 1000) / 1e4, "heading": i % 360}
            try:
                conn.request("POST", f"/api/v1/vehicles/{vin}/telemetry", body=json.dumps({"samples": [sample]}), headers=headers)
                r = conn.getresponse()
                r.read()
                acked[r.status] += 1
            except (OSError, http.client.HTTPException) as e:
                acked[type(e).__name__] += 1
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            i += workers
            next_at += interval
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                next_at = time.monotonic()

    workers = 2
    publishers = [threading.Thread(target=publish, args=(w, workers), daemon=True) for w in range(workers)]
    started = time.monotonic()
    for t in publishers:
        t.start()
    samples = []  # (seconds, RSS KiB, dropped so far, sockets open)
    all_dropped_at = None
    while time.monotonic() - started < max_seconds:
        time.sleep(0.5)
        m = metrics(port)
        dropped = m["motorpool_ws_slow_consumers_dropped_total"] - base_metrics["motorpool_ws_slow_consumers_dropped_total"]
        samples.append((round(time.monotonic() - started, 1), rss_kib(pid), dropped, m["motorpool_ws_sockets_open"]))
        if all_dropped_at is None and dropped >= slow_count:
            all_dropped_at = time.monotonic() - started
        # Keep publishing a while after the last drop: memory must stay flat from then on.
        if all_dropped_at is not None and time.monotonic() - started > all_dropped_at + 6:
            break
    stop.set()
    for t in publishers:
        t.join()
    seconds = time.monotonic() - started
    time.sleep(1.5)  # the control reads what is still in flight
    stop_reader.set()
    reader.join(timeout=5)
    end = metrics(port)
    rss_end = rss_kib(pid)
    published = acked[202]
    rss_peak = max(s[1] for s in samples)
    frame_bytes = got["bytes"] or 1
    # Were every never-reading socket's queue full at once, the server would hold this much (plus
    # what Beast and the allocator keep): the bound the drop policy promises.
    bound_kib = slow_count * max_queued * frame_bytes // 1024 + 32 * 1024
    after_drop = [s[1] for s in samples if all_dropped_at is not None and s[0] >= all_dropped_at + 1]

    check(all_dropped_at is not None, "ws.slow_dropped",
          f"{samples[-1][2]:.0f}/{slow_count} never-reading sockets dropped by the server (1013, queue of {max_queued} frames)"
          + (f", the last {all_dropped_at:.1f} s after publishing began" if all_dropped_at is not None else f" within {max_seconds} s"))
    check(end["motorpool_ws_sockets_open"] == base_metrics["motorpool_ws_sockets_open"] + 1, "ws.sockets_released",
          f"sockets open at the end: {end['motorpool_ws_sockets_open']:.0f} (the reading one: {base_metrics['motorpool_ws_sockets_open'] + 1:.0f})")
    check(got["closed"] == 0 and got["signals"] == published and published > 0, "ws.reader_served",
          f"the reading subscriber got {got['signals']} of {published} frames published ({rate}/s for {seconds:.1f} s) and stayed open")
    check(rss_peak - rss_before <= bound_kib, "ws.rss_bounded",
          f"server RSS {rss_before} KiB before, peak {rss_peak} KiB (+{rss_peak - rss_before}), bound +{bound_kib} KiB "
          f"({slow_count} x {max_queued} frames x {frame_bytes} B + 32 MiB)")
    if after_drop:
        growth = max(after_drop) - after_drop[0]
        check(growth <= 4096, "ws.rss_flat_after_drop",
              f"RSS over the {samples[-1][0] - all_dropped_at - 1:.1f} s of publishing after the last drop: "
              f"{after_drop[0]} -> {max(after_drop)} KiB (+{growth}, bound +4096)")
    else:
        check(False, "ws.rss_flat_after_drop", "no samples after the last drop")
    check(set(acked) <= {202}, "ws.publisher_ok", f"publisher answers {dict(acked)}")
    control.close()
    for s in slow:
        s.close()
    figures("wsflood", {"slow_sockets": slow_count, "rate_per_s": rate, "seconds": round(seconds, 1), "published": published,
                        "reader_frames": got["signals"], "frame_bytes": frame_bytes, "rss_before_kib": rss_before,
                        "rss_peak_kib": rss_peak, "rss_end_kib": rss_end,
                        "all_dropped_after_s": round(all_dropped_at, 1) if all_dropped_at is not None else None,
                        "rss_timeline": [(s[0], s[1], int(s[2])) for s in samples[:: max(1, len(samples) // 12)]]})


def main():
    command, args = sys.argv[1], sys.argv[2:]
    if command == "storm":
        asyncio.run(storm(int(args[0]), args[1], int(args[2]), int(args[3])))
    elif command == "slowloris":
        asyncio.run(slowloris(int(args[0]), args[1], float(args[2]), float(args[3]), float(args[4]), int(args[5]), args[6]))
    elif command == "wsflood":
        wsflood(int(args[0]), args[1], int(args[2]), args[3], args[4], int(args[5]), int(args[6]), float(args[7]), int(args[8]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
