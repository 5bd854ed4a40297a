#!/usr/bin/env bash
# Smartcar webhook deliveries: signed v4 VEHICLE_STATE, five signals each, durable (the 200 comes
# after the delivery is committed to the log), from build/bench/webhook_bench over CONNECTIONS
# keep-alive connections, to the vehicles of one simulated account connected through the real
# Connect flow. Reports deliveries/s and latency, then how long processing took to catch up. On
# SQLite (synchronous FULL and NORMAL) and on PostgreSQL when run under scripts/with-postgres.
#   bench/webhooks.sh                      (after `make bench` or a full build)
#   MOTORPOOL_PG_DURABLE=1 scripts/with-postgres bench/webhooks.sh
# Environment: SECONDS_PER_RUN (10), CONNECTIONS (64), VEHICLES (as many as connections: one car each)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
if [ -n "${MOTORPOOL_TEST_PG_URL:-}" ] && [ -z "${MOTORPOOL_PG_DURABLE:-}" ]; then
  echo "bench: PostgreSQL without fsync (test settings); for figures: MOTORPOOL_PG_DURABLE=1 scripts/with-postgres $0" >&2
fi
bench_build motorpool webhook_bench webhook_log_ceiling
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
CONNECTIONS=${CONNECTIONS:-64}
VEHICLES=${VEHICLES:-$CONNECTIONS}
work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
export MOTORPOOL_LOG_LEVEL=warn MOTORPOOL_ENV=test SECRET_KEY=bench-secret-key-0123456789abcdef \
  MOTORPOOL_ENCRYPTION_KEY=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8= SMARTCAR_MANAGEMENT_TOKEN=bench-amt \
  SMARTCAR_CLIENT_ID=bench-client SMARTCAR_CLIENT_SECRET=bench-secret SMARTCAR_SIM_WEBHOOK_URL=off

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pending() {  # pending DATABASE_URL: deliveries not yet processed
  case $1 in
    sqlite:*) python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT COUNT(*) FROM webhook_pending").fetchone()[0])' "${1#sqlite://}" ;;
    *) psql "$1" -Atc "SELECT COUNT(*) FROM webhook_pending" ;;
  esac
}
sql() {  # sql DATABASE_URL QUERY: one number
  case $1 in
    sqlite:*) python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' "${1#sqlite://}" "$2" ;;
    *) psql "$1" -Atc "$2" ;;
  esac
}
run() {  # run LABEL DATABASE_URL [extra env...]
  local label=$1 url=$2; shift 2
  echo "== $label"
  echo bench-password-1 | DATABASE_URL=$url build/motorpool users create --email bench@motorpool.local --password-stdin >/dev/null 2>&1
  local port; port=$(free_port)
  env DATABASE_URL="$url" PORT=$port MOTORPOOL_HOST=127.0.0.1 "$@" build/motorpool serve >"$work/server.log" 2>&1 & pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
  local base="http://127.0.0.1:$port" token connect ids
  token=$(curl -sf "$base/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d '{"email":"bench@motorpool.local","password":"bench-password-1"}' | jq -r .access_token)
  # A fleet of at least VEHICLES cars: each approval brings a new simulated owner's one to three.
  ids=""
  while [ "$(echo -n "$ids" | grep -c .)" -lt "$VEHICLES" ]; do
    connect=$(curl -sf "$base/api/v1/connect/smartcar" -H "Authorization: Bearer $token" | jq -r .url)
    ids="$ids$(curl -sfL "$connect&approve=true" | jq -r '.vehicles[].smartcar_vehicle_id')"$'\n'
  done
  echo "   vehicles: $(echo -n "$ids" | grep -c .), connections: $CONNECTIONS, $SECONDS_PER_RUN s"
  # shellcheck disable=SC2086
  build/bench/webhook_bench "$port" bench-amt "$CONNECTIONS" "$SECONDS_PER_RUN" $ids | sed 's/^/   /'
  if [ "${MOTORPOOL_WEBHOOK_PROCESSING:-true}" = true ]; then
    local start; start=$(date +%s%3N)
    for _ in $(seq 600); do [ "$(pending "$url")" -eq 0 ] && break; sleep 0.2; done
    echo "   processing caught up $(( $(date +%s%3N) - start )) ms after the last acknowledgement ($(pending "$url") pending)"
    # What processing did: the figure means something only if the readings were stored.
    echo "   outcomes: $(sql "$url" "SELECT COUNT(*) FROM webhook_outcomes WHERE status = 'processed'") processed," \
      "$(sql "$url" "SELECT COUNT(*) FROM webhook_outcomes WHERE outcome LIKE '%dropped%'") with readings dropped;" \
      "$(sql "$url" "SELECT COUNT(*) FROM signal_history WHERE source = 2") webhook readings stored"
  fi
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
}

run "SQLite, WAL, synchronous=FULL" "sqlite:///$work/full.db"
run "SQLite, WAL, synchronous=NORMAL" "sqlite:///$work/normal.db" MOTORPOOL_SQLITE_SYNCHRONOUS=NORMAL
if [ -n "${MOTORPOOL_TEST_PG_URL:-}" ]; then
  psql "$MOTORPOOL_TEST_PG_URL" -qc "DROP DATABASE IF EXISTS motorpool_webhooks" -c "CREATE DATABASE motorpool_webhooks" >/dev/null
  run "PostgreSQL" "${MOTORPOOL_TEST_PG_URL%/*}/motorpool_webhooks"
fi
