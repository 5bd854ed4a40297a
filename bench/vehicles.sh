#!/usr/bin/env bash
# The vehicle registry at one million vehicles: import rate on SQLite (and on PostgreSQL when
# scripts/with-postgres provides MOTORPOOL_TEST_PG_URL), then, on SQLite, GET /api/v1/vehicles/{vin}
# for random VINs, keyset pages 1 and 50,000, and /health for comparison (wrk, 64 connections).
#   bench/vehicles.sh                          (builds what it runs)
#   MOTORPOOL_PG_DURABLE=1 scripts/with-postgres bench/vehicles.sh    (adds the PostgreSQL import)
# Environment: ROWS (1000000), DURATION (10s), CONNECTIONS (64), THREADS (2)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
if [ -n "${MOTORPOOL_TEST_PG_URL:-}" ] && [ -z "${MOTORPOOL_PG_DURABLE:-}" ]; then
  echo "bench: PostgreSQL without fsync (test settings); for figures: MOTORPOOL_PG_DURABLE=1 scripts/with-postgres $0" >&2
fi
bench_build motorpool vehicles_gen
ROWS=${ROWS:-1000000}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

build/bench/vehicles_gen "$ROWS" >"$work/vehicles.csv"
# 20,000 VINs drawn from the whole file: wrk's Lua holding all million in a table makes its own
# garbage collector pause for tens of milliseconds, which shows up as server p99 latency.
tail -n +2 "$work/vehicles.csv" | cut -d, -f1 | shuf -n 20000 --random-source=<(yes) >"$work/vins.txt"
echo "== catalogue: $ROWS rows, $(du -h "$work/vehicles.csv" | cut -f1)"

import_into() {  # import_into DATABASE_URL LABEL
  DATABASE_URL=$1 MOTORPOOL_LOG_LEVEL=warn MOTORPOOL_ENV=test SECRET_KEY=bench-secret-key-0123456789abcdef \
    bash -c 'echo bench-password-1 | build/motorpool users create --email bench@motorpool.local --role member --password-stdin >/dev/null'
  echo "== import on $2"
  DATABASE_URL=$1 MOTORPOOL_LOG_LEVEL=warn MOTORPOOL_ENV=test SECRET_KEY=bench-secret-key-0123456789abcdef \
    /usr/bin/time -f "   wall %e s, user %U s, sys %S s, max RSS %M KiB" \
    build/motorpool import vehicles "$work/vehicles.csv" --owner bench@motorpool.local 2>&1 | grep -E "imported|inserted|rejected|wall"
}

if [ -n "${MOTORPOOL_TEST_PG_URL:-}" ]; then
  pg_url="${MOTORPOOL_TEST_PG_URL%/*}/motorpool_bench"
  psql "$MOTORPOOL_TEST_PG_URL" -qc "DROP DATABASE IF EXISTS motorpool_bench" -c "CREATE DATABASE motorpool_bench" >/dev/null
  import_into "$pg_url" PostgreSQL
fi
import_into "sqlite:///$work/bench.db" SQLite

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DATABASE_URL="sqlite:///$work/bench.db" PORT=$port MOTORPOOL_HOST=127.0.0.1 MOTORPOOL_LOG_LEVEL=warn MOTORPOOL_ENV=test \
  SECRET_KEY=bench-secret-key-0123456789abcdef build/motorpool serve >"$work/server.log" 2>&1 & pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
export TOKEN=$(curl -sf "http://127.0.0.1:$port/api/v1/auth/login" -H 'Content-Type: application/json' \
  -d '{"email":"bench@motorpool.local","password":"bench-password-1"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
export VINS_FILE="$work/vins.txt"
base="http://127.0.0.1:$port"
cursor_after() { printf 'v1:%s' "$1" | base64 -w0 | tr '+/' '-_' | tr -d '='; }
page_url() { echo "$base/api/v1/vehicles?page_size=10&cursor=$(cursor_after "$1")"; }
curl -sf -H "Authorization: Bearer $TOKEN" "$(page_url 499990)" | python3 -c 'import json,sys; d=json.load(sys.stdin); print("   keyset page 50,000 starts at", d["items"][0]["vin"], "with", len(d["items"]), "items")'

run() {  # run LABEL wrk-args...
  local label=$1; shift
  echo "== $label"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@" | grep -E "Requests/sec|99%|50%|non-2xx|Socket errors"
}
run "/health" "$base/health"
run "GET /api/v1/vehicles/{vin} (random VIN)" -s bench/vehicles.lua "$base"
run "keyset page 1 (page_size 10)" -s bench/bearer.lua "$base/api/v1/vehicles?page_size=10&cursor="
run "keyset page 50,000 (page_size 10)" -s bench/bearer.lua "$(page_url 499990)"
run "offset page 1 (page_size 10, with total)" -s bench/bearer.lua "$base/api/v1/vehicles?page_size=10&page=1"
