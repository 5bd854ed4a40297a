#!/usr/bin/env bash
# Durable telemetry ingest over HTTP: wrk -t2 -c64, each request 100 samples x 3 signals spread
# over 64 vehicles; reports signal rows per second (2xx means committed). On SQLite (WAL,
# synchronous=NORMAL as the issue specifies, and FULL for comparison), and on PostgreSQL when run
# under scripts/with-postgres. Then, on SQLite, grows the history table to 10 million rows and times
# one signal's 30-day history in hourly buckets.
#   bench/ingest.sh                          (builds what it runs)
#   MOTORPOOL_PG_DURABLE=1 scripts/with-postgres bench/ingest.sh
# Environment: DURATION (10s), CONNECTIONS (64), THREADS (2)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
if [ -n "${MOTORPOOL_TEST_PG_URL:-}" ] && [ -z "${MOTORPOOL_PG_DURABLE:-}" ]; then
  echo "bench: PostgreSQL without fsync (test settings); for figures: MOTORPOOL_PG_DURABLE=1 scripts/with-postgres $0" >&2
fi
bench_build motorpool vehicles_gen
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
export MOTORPOOL_LOG_LEVEL=warn MOTORPOOL_ENV=test SECRET_KEY=bench-secret-key-0123456789abcdef
build/bench/vehicles_gen 64 >"$work/vehicles.csv"
tail -n +2 "$work/vehicles.csv" | cut -d, -f1 >"$work/vins.txt"
export VEHICLES_FILE="$work/vins.txt" BASE_MS=$(( ($(date +%s) - 30 * 86400) * 1000 ))

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
serve() {  # serve DATABASE_URL [extra env...]
  local url=$1; shift
  echo bench-password-1 | DATABASE_URL=$url build/motorpool users create --email bench@motorpool.local --role fleet_manager --password-stdin >/dev/null 2>&1 || true
  DATABASE_URL=$url build/motorpool import vehicles "$work/vehicles.csv" >/dev/null 2>&1
  port=$(free_port)
  env DATABASE_URL="$url" PORT=$port MOTORPOOL_HOST=127.0.0.1 "$@" build/motorpool serve >"$work/server.log" 2>&1 & pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
  export TOKEN=$(curl -sf "http://127.0.0.1:$port/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d '{"email":"bench@motorpool.local","password":"bench-password-1"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""; }
rows() {  # rows DATABASE_URL: history rows stored (what was committed, duplicates excluded)
  case $1 in
    sqlite:*) python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT COUNT(*) FROM signal_history").fetchone()[0])' "${1#sqlite://}" ;;
    *) psql "$1" -Atc "SELECT COUNT(*) FROM signal_history" ;;
  esac
}
run() {  # run LABEL DATABASE_URL
  echo "== $1"
  local before after
  before=$(rows "$2")
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/ingest.lua "http://127.0.0.1:$port" >"$work/wrk.txt"
  after=$(rows "$2")
  grep -E "Requests/sec|50%|99%|non-2xx|Socket errors" "$work/wrk.txt"
  awk -v rows=$((after - before)) -v d="${DURATION%s}" '/Requests\/sec/ {printf "   signal rows/s (acknowledged): %.0f; stored %d new rows in %d s: %.0f rows/s\n", $2 * 300, rows, d, rows / d}' "$work/wrk.txt"
}

serve "sqlite:///$work/normal.db" MOTORPOOL_SQLITE_SYNCHRONOUS=NORMAL
run "SQLite, WAL, synchronous=NORMAL" "sqlite:///$work/normal.db"
stop
serve "sqlite:///$work/full.db" MOTORPOOL_SQLITE_SYNCHRONOUS=FULL
run "SQLite, WAL, synchronous=FULL" "sqlite:///$work/full.db"
stop
if [ -n "${MOTORPOOL_TEST_PG_URL:-}" ]; then
  psql "$MOTORPOOL_TEST_PG_URL" -qc "DROP DATABASE IF EXISTS motorpool_ingest" -c "CREATE DATABASE motorpool_ingest" >/dev/null
  serve "${MOTORPOOL_TEST_PG_URL%/*}/motorpool_ingest"
  run "PostgreSQL" "${MOTORPOOL_TEST_PG_URL%/*}/motorpool_ingest"
  stop
fi

# History at 10 million rows: one vehicle's Motion.Speed every 10 s for 30 days (259,200 rows), the
# rest filler for other vehicles and signals, then GET .../history?bucket=1h over those 30 days.
db="$work/normal.db"
vin=$(head -1 "$work/vins.txt")
python3 - "$db" "$vin" <<'PY'
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1])
now = int(time.time() * 1000)
start = now - 30 * 86400 * 1000
first = con.execute("SELECT id FROM vehicles WHERE vin = ?", (sys.argv[2],)).fetchone()[0]
vehicles = [first] + [r[0] for r in con.execute("SELECT id FROM vehicles WHERE id <> ? ORDER BY id", (first,))]
have = con.execute("SELECT COUNT(*) FROM signal_history").fetchone()[0]
con.execute("BEGIN")
con.execute("DELETE FROM signal_history WHERE vehicle_id = ? AND signal_id = 10", (vehicles[0],))
con.execute("""WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < 259199)
               INSERT INTO signal_history SELECT ?, 10, ? + i * 10000, (i % 130), NULL, 1 FROM s""", (vehicles[0], start))
total = con.execute("SELECT COUNT(*) FROM signal_history").fetchone()[0]
filler = max(0, 10_000_000 - total)
per = filler // 63 + 1
for v in vehicles[1:]:
    con.execute("""WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < ?)
                   INSERT OR IGNORE INTO signal_history SELECT ?, 5, ? + i * 1000, i, NULL, 1 FROM s""", (per - 1, v, start))
con.execute("COMMIT")
print("   history rows:", con.execute("SELECT COUNT(*) FROM signal_history").fetchone()[0], "(had %d from the ingest run)" % have)
PY
serve "sqlite:///$db" MOTORPOOL_SQLITE_SYNCHRONOUS=NORMAL
from=$(date -u -d '30 days ago' +%Y-%m-%dT%H:%M:%SZ)
url="http://127.0.0.1:$port/api/v1/vehicles/$vin/signals/Motion.Speed/history?from=$from&bucket=1h&agg=avg&limit=10000"
curl -sf -H "Authorization: Bearer $TOKEN" "$url" | python3 -c 'import json,sys; d=json.load(sys.stdin); print("   buckets:", len(d["points"]))'
echo "== 30 days of one signal, hourly buckets (20 requests, one at a time)"
for _ in $(seq 20); do curl -sf -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $TOKEN" "$url"; done |
  sort -n | awk '{t[NR] = $1 * 1000} END {printf "   min %.1f ms, median %.1f ms, max %.1f ms\n", t[1], t[int((NR + 1) / 2)], t[NR]}'
