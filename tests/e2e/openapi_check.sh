#!/usr/bin/env bash
# Every answer the SQLite integration run recorded, checked against the OpenAPI document (ajv, pinned
# in package-lock.json; installed by the e2e.npm_ci fixture, or here when run by hand).
#   tests/e2e/openapi_check.sh api/openapi.json build-asan/openapi-responses.jsonl
set -euo pipefail
document=$(realpath "$1")
log=$(realpath "$2")
cd "$(dirname "$0")"
[ -n "${MOTORPOOL_E2E_INSTALLED:-}" ] || npm ci --no-audit --no-fund --loglevel=error >/dev/null
exec node openapi_responses.mjs "$document" "$log"
