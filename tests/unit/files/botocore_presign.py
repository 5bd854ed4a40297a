#!/usr/bin/env python3
"""Presigned S3 URLs as botocore makes them, for motorpool's SigV4 test: reads a JSON list of
cases on stdin, prints one URL per line. The signing time is fixed by patching botocore's clock."""
import datetime
import json
import sys
from unittest import mock

import botocore.session
from botocore.config import Config


def presign(case):
    at = datetime.datetime.fromtimestamp(case["at"], datetime.timezone.utc).replace(tzinfo=None)

    class FixedClock(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return at

        @classmethod
        def now(cls, tz=None):
            return at.replace(tzinfo=tz) if tz else at

    session = botocore.session.get_session()
    # The endpoint is always given, so the host does not depend on botocore's version (1.29 signs
    # virtual-host URLs for any region on s3.amazonaws.com, later ones on the regional host).
    style = case.get("style", "virtual")
    client = session.create_client(
        "s3",
        region_name=case["region"],
        endpoint_url=case.get("endpoint"),
        aws_access_key_id=case["access_key_id"],
        aws_secret_access_key=case["secret_access_key"],
        aws_session_token=case.get("session_token") or None,
        config=Config(signature_version="s3v4", s3={"addressing_style": style}),
    )
    params = {"Bucket": case["bucket"], "Key": case["key"]}
    if "content_type" in case:
        params["ContentType"] = case["content_type"]
    if "content_length" in case:
        params["ContentLength"] = case["content_length"]
    if "disposition" in case:
        params["ResponseContentDisposition"] = case["disposition"]
        params["ResponseContentType"] = case["response_type"]
    operation = {"GET": "get_object", "PUT": "put_object", "HEAD": "head_object", "DELETE": "delete_object"}[
        case["method"]
    ]
    with mock.patch("botocore.auth.datetime.datetime", FixedClock):
        return client.generate_presigned_url(operation, Params=params, ExpiresIn=case["expires"])


for case in json.load(sys.stdin):
    print(presign(case))
