#!/usr/bin/env bash
# Booking end to end: availability of a 20-bay day holding 1,000 bookings (wrk: the route's reads
# and the slot computation, p99), then bookings per second with 64 concurrent clients on distinct
# slots (each a committed transaction serialised per location). SQLite, or PostgreSQL when
# scripts/with-postgres provides MOTORPOOL_TEST_PG_URL.
#   bench/booking.sh                       scripts/with-postgres bench/booking.sh
# Environment: DURATION (10s), CONNECTIONS (64), THREADS (2)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
bench_build motorpool
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

if [ -n "${MOTORPOOL_TEST_PG_URL:-}" ]; then
  psql "$MOTORPOOL_TEST_PG_URL" -qc "DROP DATABASE IF EXISTS motorpool_booking_bench" -c "CREATE DATABASE motorpool_booking_bench" >/dev/null
  db="${MOTORPOOL_TEST_PG_URL%/*}/motorpool_booking_bench"
  label=PostgreSQL
else
  db="sqlite:///$work/bench.db"
  label=SQLite
fi
export DATABASE_URL=$db MOTORPOOL_LOG_LEVEL=warn MOTORPOOL_ENV=test SECRET_KEY=bench-secret-key-0123456789abcdef
echo bench-password-1 | build/motorpool users create --email bench@motorpool.local --role admin --password-stdin >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
PORT=$port MOTORPOOL_HOST=127.0.0.1 build/motorpool serve >"$work/server.log" 2>&1 & pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
base="http://127.0.0.1:$port"

# A location open 06:00-22:00 every day (UTC), 20 bays, 15-minute slots and service; 1,000 bookings
# on one day (64 slots x 20 bays hold 1,280).
python3 - "$base" "$work" <<'PY'
import json, sys, urllib.request, concurrent.futures
base, work = sys.argv[1], sys.argv[2]
def call(method, path, body=None, token=None):
    req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body is not None else None)
    req.add_header("Content-Type", "application/json")
    if token: req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read() or b"null")
token = call("POST", "/api/v1/auth/login", {"email": "bench@motorpool.local", "password": "bench-password-1"})["access_token"]
call("POST", "/api/v1/services", {"code": "quick", "name": "Quick check", "duration_min": 15, "price_cents": 1000}, token)
day = [["06:00", "22:00"]]
loc = call("POST", "/api/v1/locations", {"name": "Bench", "latitude": 52.5, "longitude": 13.4, "time_zone": "UTC", "bays": 20,
    "opening_hours": {d: day for d in ["mon","tue","wed","thu","fri","sat","sun"]}, "services": ["quick"],
    "slot_interval_min": 15, "min_notice_min": 0, "horizon_days": 730}, token)["id"]
def vin(body):  # ISO 3779 check digit in position 9
    values = {**{str(d): d for d in range(10)}, **dict(zip("ABCDEFGH", range(1, 9))), **dict(zip("JKLMN", range(1, 6))),
              "P": 7, "R": 9, **dict(zip("STUVWXYZ", range(2, 10)))}
    weights = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2]
    total = sum(values[c] * w for c, w in zip(body, weights))
    check = "X" if total % 11 == 10 else str(total % 11)
    return body[:8] + check + body[9:]
vehicle = call("POST", "/api/v1/vehicles", {"vin": vin("5YJ3E1EA0KF317000"), "make": "Tesla", "model": "3", "year": 2019}, token)["id"]
import datetime
day0 = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=2)).replace(hour=0, minute=0, second=0, microsecond=0)
def book(i):
    start = day0 + datetime.timedelta(hours=6, minutes=15 * (i % 64))
    return call("POST", "/api/v1/appointments", {"vehicle_id": vehicle, "location_id": loc,
        "start_time": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "services": ["quick"]}, token)
with concurrent.futures.ThreadPoolExecutor(16) as pool:
    list(pool.map(book, range(1000)))
# For bookings per second, a second location with 5-minute slots round the clock (287 a day for
# 727 days), so the run never runs out of distinct slots.
call("POST", "/api/v1/services", {"code": "tiny", "name": "Tyre pressure", "duration_min": 5, "price_cents": 500}, token)
loc2 = call("POST", "/api/v1/locations", {"name": "Bench 24h", "latitude": 52.5, "longitude": 13.4, "time_zone": "UTC",
    "bays": 1, "opening_hours": {d: [["00:00", "23:55"]] for d in ["mon","tue","wed","thu","fri","sat","sun"]},
    "services": ["tiny"], "slot_interval_min": 5, "min_notice_min": 0, "horizon_days": 730}, token)["id"]
open(work + "/env", "w").write(f"TOKEN={token}\nLOC={loc}\nLOC2={loc2}\nVEHICLE={vehicle}\nDAY={day0.strftime('%Y-%m-%d')}\n"
                               f"DAY0={int(day0.timestamp())}\n")
PY
source "$work/env"
export TOKEN LOC LOC2 VEHICLE DAY0
echo "== $label: availability of a 20-bay day with 1,000 bookings (wrk -t$THREADS -c$CONNECTIONS -d$DURATION)"
wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -H "Authorization: Bearer $TOKEN" \
  "$base/api/v1/appointments/availability?location_id=$LOC&date=$DAY&services=quick" | grep -E "Latency|50%|90%|99%|Requests/sec|Non-2xx"

# Bookings on distinct slots: request n of thread t takes slot n*threads+t of the round-the-clock
# location, 287 a day from three days on.
cat >"$work/book.lua" <<'LUA'
local counter = 0
function setup(thread) thread:set("tid", counter); counter = counter + 1 end
function init(args) n = 0; threads = tonumber(os.getenv("THREADS")) end
function request()
  local i = n * threads + tid
  n = n + 1
  local day = 3 + math.floor(i / 287)
  local start = tonumber(os.getenv("DAY0")) + day * 86400 + (i % 287) * 300
  local body = string.format('{"vehicle_id":"%s","location_id":"%s","start_time":"%s","services":["tiny"]}',
    os.getenv("VEHICLE"), os.getenv("LOC2"), os.date("!%Y-%m-%dT%H:%M:%SZ", start))
  return wrk.format("POST", "/api/v1/appointments",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. os.getenv("TOKEN")}, body)
end
LUA
echo "== $label: bookings on distinct slots, $CONNECTIONS concurrent clients"
THREADS=$THREADS wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$work/book.lua" "$base" \
  | grep -E "Latency|50%|99%|Requests/sec|Non-2xx"
