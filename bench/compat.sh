#!/usr/bin/env bash
# What a compat surface's translation costs: the same reads through motorpool's own route and
# through an original's (MOTORPOOL_COMPAT=vehicle-catalog@/catalog, membership-auto), on SQLite,
# side by side (wrk, 64 connections): one vehicle by VIN, a page of 10 with totals, and the
# membership app's vehicle list (camelCased, bare array).
#   bench/compat.sh                       (builds what it runs)
# Environment: ROWS (10000), DURATION (10s), CONNECTIONS (64), THREADS (2)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
bench_build motorpool vehicles_gen
ROWS=${ROWS:-10000}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

export DATABASE_URL="sqlite:///$work/bench.db" MOTORPOOL_LOG_LEVEL=warn MOTORPOOL_ENV=test \
  SECRET_KEY=bench-secret-key-0123456789abcdef MOTORPOOL_COMPAT=vehicle-catalog@/catalog,membership-auto
build/bench/vehicles_gen "$ROWS" >"$work/vehicles.csv"
tail -n +2 "$work/vehicles.csv" | cut -d, -f1 | shuf -n 5000 --random-source=<(yes) >"$work/vins.txt"
echo bench-password-1 | build/motorpool users create --email bench@motorpool.local --role admin --password-stdin >/dev/null
# Ten vehicles of their own for the "my vehicles" lists; the rest owned by nobody.
head -n 11 "$work/vehicles.csv" >"$work/mine.csv"
build/motorpool import vehicles "$work/mine.csv" --owner bench@motorpool.local >/dev/null 2>&1
build/motorpool import vehicles "$work/vehicles.csv" --skip-existing >/dev/null 2>&1

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
PORT=$port MOTORPOOL_HOST=127.0.0.1 build/motorpool serve >"$work/server.log" 2>&1 & pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
base="http://127.0.0.1:$port"
export TOKEN=$(curl -sf "$base/api/v1/auth/login" -H 'Content-Type: application/json' \
  -d '{"email":"bench@motorpool.local","password":"bench-password-1"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
export VINS_FILE="$work/vins.txt"

run() {  # run LABEL wrk-args...
  local label=$1; shift
  echo "== $label"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@" | grep -E "Requests/sec|99%|non-2xx|Socket errors"
}
run "own: GET /api/v1/vehicles/{vin} (bearer)" -s bench/vehicles.lua "$base"
VEHICLE_PATH=/catalog/api/vehicles/ TOKEN= run "catalog: GET /catalog/api/vehicles/{vin} (public)" -s bench/vehicles.lua "$base"
run "own: GET /api/v1/vehicles?page=1&page_size=10 (bearer)" -s bench/bearer.lua "$base/api/v1/vehicles?page=1&page_size=10"
run "catalog: GET /catalog/api/vehicles?page=1&page_size=10 (public)" "$base/catalog/api/vehicles?page=1&page_size=10"
run "own: GET /api/v1/vehicles?mine=true&page_size=100 (bearer)" -s bench/bearer.lua "$base/api/v1/vehicles?mine=true&page_size=100&page=1"
run "membership-auto: GET /api/vehicles/ (bearer, camelCase)" -s bench/bearer.lua "$base/api/vehicles/"
