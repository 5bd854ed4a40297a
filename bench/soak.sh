#!/usr/bin/env bash
# Soak (issue 22): one server under a steady mixed workload for DURATION seconds, on loopback:
# dongle telemetry uploads, reads (vehicle list, latest signals, history in 1-minute buckets, the
# convenience views) and logins, each from a paced wrk (bench/soak.lua); signed Smartcar webhook
# deliveries, and WebSocket subscribers of every car that re-authenticate with a fresh login every
# 5 minutes (a quarter of a shorter run) (bench/soak_clients.mjs); Smartcar polling of the same cars
# (simulated, connected through Connect). Every minute bench/soak.py appends a row to a CSV (path
# printed): the server's RSS, descriptors and threads from /proc, the median and p99 of a probe client
# (the latest signals, one request at a time, 5/s) over that minute, the requests the server answered.
# On SQLite the database first gets history until the writer's 64 MiB page cache is full (bounded by
# design, docs/decisions.md), and the database file's memory map (OS page cache, in VmRSS as
# file-backed pages) is recorded apart and left out of the growth check. At the end, after the
# warm-up (minute 5 of an hour; minute 1 of a shorter run): RSS growth to the last minute under 5 %,
# descriptors and threads not growing, the last 10 minutes' median p99 within 1.5x (or 5 ms) of that of
# minutes 5-15 (windows scaled for a shorter run, 2 minutes at least), nothing failed. SQLite, or
# PostgreSQL with MOTORPOOL_SOAK_DB=postgres under scripts/with-postgres.
#   bench/soak.sh                                            (an hour)
#   DURATION=300 bench/soak.sh                               (a 5-minute check of the script)
#   MOTORPOOL_SOAK_DB=postgres scripts/with-postgres bench/soak.sh
# Environment: DURATION (3600 s), VEHICLES (20), WS_SOCKETS (10), INGEST_RATE (10/s), READ_RATE (20/s),
#   LOGIN_RATE (0.5/s), WEBHOOK_RATE (5/s), MOTORPOOL_SOAK_DB (sqlite | postgres), PREFILL (1: SQLite
#   history first; 0: none), P99_FLOOR_MS (5), MOTORPOOL_BIN (default: build/motorpool copied to
#   /tmp/motorpool-soak and run from there)
set -uo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-3600}
VEHICLES=${VEHICLES:-20}
WS_SOCKETS=${WS_SOCKETS:-10}
INGEST_RATE=${INGEST_RATE:-10}
READ_RATE=${READ_RATE:-20}
LOGIN_RATE=${LOGIN_RATE:-0.5}
WEBHOOK_RATE=${WEBHOOK_RATE:-5}
DB_KIND=${MOTORPOOL_SOAK_DB:-sqlite}
PREFILL=${PREFILL:-1}
minutes=$((DURATION / 60))
[ "$minutes" -ge 3 ] || { echo "soak: DURATION must be at least 180 s" >&2; exit 2; }
# An hour: warm-up 5 minutes, p99 windows of 10; shorter runs scale both (warm-up 1 minute at least,
# windows 2: the median of one minute's p99 is that minute's noise).
warmup=$(( (minutes * 5 + 30) / 60 )); [ "$warmup" -ge 1 ] || warmup=1
window=$(( (minutes * 10 + 30) / 60 )); [ "$window" -ge 2 ] || window=2
[ $((warmup + window)) -le "$minutes" ] || window=$((minutes - warmup))

if [ -z "${MOTORPOOL_BIN:-}" ]; then
  [ -x build/motorpool ] || { echo "soak: build/motorpool is missing (cmake --build build --target motorpool)" >&2; exit 1; }
  MOTORPOOL_BIN=/tmp/motorpool-soak
  cp build/motorpool "$MOTORPOOL_BIN.$$" && mv -f "$MOTORPOOL_BIN.$$" "$MOTORPOOL_BIN"  # a rename: a running copy is not disturbed
fi
stamp=$(date +%Y%m%d-%H%M%S)
csv=/tmp/soak-$stamp-$DB_KIND.csv
keep_log=/tmp/soak-$stamp-$DB_KIND-server.log
work=$(mktemp -d /tmp/soak.XXXXXX)
pid=""
loads=()
cleanup() {
  for p in "${loads[@]}"; do kill "$p" 2>/dev/null; done
  [ -n "$pid" ] && kill "$pid" 2>/dev/null
  wait 2>/dev/null
  [ -f "$work/server.log" ] && cp "$work/server.log" "$keep_log"
  rm -rf "$work"
}
trap cleanup EXIT

case $DB_KIND in
  sqlite) DATABASE_URL="sqlite:///$work/soak.db"; export SOAK_DB_FILE="$work/soak.db" SOAK_PG_URL="" ;;
  postgres)
    [ -n "${MOTORPOOL_TEST_PG_URL:-}" ] || { echo "soak: MOTORPOOL_SOAK_DB=postgres needs scripts/with-postgres" >&2; exit 2; }
    PGOPTIONS='--client-min-messages=warning' psql "$MOTORPOOL_TEST_PG_URL" -qc "DROP DATABASE IF EXISTS motorpool_soak" \
      -c "CREATE DATABASE motorpool_soak" >/dev/null || exit 1
    DATABASE_URL="${MOTORPOOL_TEST_PG_URL%/*}/motorpool_soak"; export SOAK_DB_FILE="" SOAK_PG_URL=$DATABASE_URL ;;
  *) echo "soak: MOTORPOOL_SOAK_DB must be sqlite or postgres" >&2; exit 2 ;;
esac

amt=soak-amt
ttl=$((DURATION + 900)); [ "$ttl" -le 86400 ] || ttl=86400  # wrk's token must outlive the run
export MOTORPOOL_LOG_LEVEL=warn MOTORPOOL_ENV=test SECRET_KEY=soak-secret-key-0123456789abcdefgh \
  MOTORPOOL_ENCRYPTION_KEY=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8= SMARTCAR_MODE=simulated \
  SMARTCAR_CLIENT_ID=soak-client SMARTCAR_CLIENT_SECRET=soak-secret SMARTCAR_MANAGEMENT_TOKEN=$amt \
  SMARTCAR_SIM_WEBHOOK_URL=off MOTORPOOL_SMARTCAR_POLL_INTERVAL=60s MOTORPOOL_ACCESS_TOKEN_TTL=${ttl}s
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
DATABASE_URL=$DATABASE_URL PORT=$port MOTORPOOL_HOST=127.0.0.1 "$MOTORPOOL_BIN" serve >"$work/server.log" 2>&1 & pid=$!
for _ in $(seq 150); do curl -sf "$base/health" >/dev/null && break; sleep 0.1; done
curl -sf "$base/health" >/dev/null || { echo "FAIL start: the server did not answer"; cat "$work/server.log"; exit 1; }

# An account minted through the API (bench/login.lua's), and VEHICLES simulated cars of its own
# connected through Smartcar Connect: each approval brings a new simulated owner's one to three.
curl -sf "$base/api/v1/auth/register" -H 'Content-Type: application/json' \
  -d '{"name":"Soak","email":"bench@motorpool.local","password":"bench-password-1"}' >/dev/null || { echo "FAIL setup: register"; exit 1; }
TOKEN=$(curl -sf "$base/api/v1/auth/login" -H 'Content-Type: application/json' \
  -d '{"email":"bench@motorpool.local","password":"bench-password-1"}' | jq -r .access_token)
export TOKEN
cars=0
while [ "$cars" -lt "$VEHICLES" ]; do
  url=$(curl -sf "$base/api/v1/connect/smartcar" -H "Authorization: Bearer $TOKEN" | jq -r .url)
  cars=$((cars + $(curl -sfL "$url&approve=true" | jq '.vehicles | map(select(.vehicle_id != null)) | length')))
done
curl -sf "$base/api/v1/connections" -H "Authorization: Bearer $TOKEN" >"$work/connections.json"
jq -r '.items[].vehicles[] | select(.vehicle_id != null) | .vin' "$work/connections.json" >"$work/vins.txt"
vehicle_ids=$(jq -r '[.items[].vehicles[] | select(.vehicle_id != null) | .vehicle_id] | join(",")' "$work/connections.json")
smartcar_ids=$(jq -r '[.items[].vehicles[] | select(.vehicle_id != null) | .smartcar_vehicle_id] | join(",")' "$work/connections.json")

echo "== soak: $MOTORPOOL_BIN (pid $pid) on $base, $DB_KIND, ${DURATION} s"
echo "   $(wc -l <"$work/vins.txt") cars; per second: ${INGEST_RATE} uploads (30 readings each), ${READ_RATE} reads," \
  "${LOGIN_RATE} logins, ${WEBHOOK_RATE} webhooks, 5 probe reads; $WS_SOCKETS WebSocket subscribers of every car;" \
  "Smartcar polls every 60 s"
echo "   warm-up $warmup min, p99 windows of $window min; CSV: $csv (server log kept at $keep_log)"

# SQLite: history first, as a server that has run a while holds, until the writer's 64 MiB page
# cache (docs/decisions.md: allocated as pages are used) is full, before the clock starts. Its filling
# is by design and bounded; a soak that starts on an empty database would count it as growth.
anon() { awk '/^RssAnon/ {print $2}' "/proc/$pid/status"; }
if [ "$DB_KIND" = sqlite ] && [ "$PREFILL" = 1 ]; then
  started=$(date +%s); anon_start=$(anon)
  VEHICLES_FILE="$work/vins.txt" BASE_MS=$(( ($(date +%s) - 30 * 86400) * 1000 )) \
    wrk -t1 -c4 -d300s -s bench/ingest.lua "$base" >"$work/prefill.txt" 2>&1 & prefill=$!
  # Until the cache's 64 MiB are taken and the server's anonymous memory stops growing (2 s apart).
  before=$anon_start
  while kill -0 "$prefill" 2>/dev/null; do
    sleep 2; now=$(anon)
    [ $((now - anon_start)) -ge 60000 ] && [ $((now - before)) -lt 256 ] && break
    before=$now
  done
  kill "$prefill" 2>/dev/null; wait "$prefill" 2>/dev/null
  sleep 2
  echo "   prefill: $(( $(stat -c %s "$SOAK_DB_FILE") / 1000000 )) MB of history in $(( $(date +%s) - started )) s;" \
    "anonymous memory $anon_start -> $(anon) kB"
fi

# The load runs 20 s past the last sample, so that every minute is measured under it.
load_s=$((DURATION + 20))
reauth=300; [ "$DURATION" -ge 1200 ] || reauth=$((DURATION / 4))
# Paced wrk: `connections` each waiting the delay after every answer.
paced() {  # paced NAME MODE RATE CONNECTIONS
  local delay; delay=$(python3 -c "print(max(1, round(1000 * $4 / $3)))")
  VEHICLES_FILE="$work/vins.txt" BASE_MS=$(( ($(date +%s) - 7200) * 1000 )) SOAK_MODE=$2 SOAK_DELAY_MS=$delay \
    wrk -t1 -c"$4" -d"${load_s}s" --timeout 30s -s bench/soak.lua "$base" >"$work/$1.txt" 2>&1 &
  loads+=($!)
}
paced wrk-ingest ingest "$INGEST_RATE" 2
paced wrk-reads reads "$READ_RATE" 4
paced wrk-login login "$LOGIN_RATE" 1
BASE=$base EMAIL=bench@motorpool.local PASSWORD=bench-password-1 VEHICLE_IDS=$vehicle_ids SMARTCAR_IDS=$smartcar_ids \
  AMT=$amt WS_SOCKETS=$WS_SOCKETS WEBHOOK_RATE=$WEBHOOK_RATE REAUTH=$reauth DURATION=$load_s STATUS_FILE="$work/live.json" \
  node bench/soak_clients.mjs >"$work/clients.log" 2>&1 &
loads+=($!)

python3 bench/soak.py monitor "$base" "$pid" "$DURATION" "$csv" "$work/vins.txt" "$work/live.json"
for p in "${loads[@]}"; do wait "$p"; done
loads=()
[ -s "$work/clients.log" ] && { echo "   soak_clients.mjs said:"; sed 's/^/     /' "$work/clients.log" | head -5; }

SOAK_VEHICLES=$(wc -l <"$work/vins.txt") python3 bench/soak.py report "$csv" "$warmup" "$window" "$work/live.json" \
  "$work/wrk-ingest.txt" "$work/wrk-reads.txt" "$work/wrk-login.txt"
rc=$?
if curl -sf "$base/ready" >/dev/null; then echo "PASS end: the server still answers /ready"; else echo "FAIL end: /ready"; rc=1; fi
errors=$(grep -cE '^\S+ (error|critical) ' "$work/server.log")
if [ "$errors" -eq 0 ]; then echo "PASS end: no error in the server's log"; else
  echo "FAIL end: $errors error lines in the server's log:"; grep -E '^\S+ (error|critical) ' "$work/server.log" | head -5; rc=1; fi
kill "$pid"; wait "$pid"; status=$?; pid=""
if [ "$status" -eq 0 ]; then echo "PASS end: SIGTERM, exit 0"; else echo "FAIL end: exit $status after SIGTERM"; rc=1; fi
echo "CSV: $csv"
exit "$rc"
