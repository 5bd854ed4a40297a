#!/usr/bin/env bash
# Durability: every telemetry row the server acknowledged (202) is present after `kill -9`.
# SQLite in WAL mode with synchronous=NORMAL (the fast setting; a process crash loses nothing
# committed, only an OS crash or power loss may). Uploads run concurrently while the server dies.
#   tests/durability/kill9_test.sh path/to/motorpool
set -uo pipefail
bin=$1
work=$(mktemp -d)
server=""
cleanup() { [ -n "$server" ] && kill -9 "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
cd "$work"
export DATABASE_URL="sqlite:///$work/kill9.db" MOTORPOOL_ENV=test MOTORPOOL_LOG_LEVEL=info \
  SECRET_KEY=kill9-test-secret-key-0123456789abcdef MOTORPOOL_SQLITE_SYNCHRONOUS=NORMAL MOTORPOOL_HOST=127.0.0.1 PORT=0
fail() { echo "FAILED: $*"; exit 1; }

echo "kill9-password-1" | "$bin" users create --email kill9@example.com --password-stdin >/dev/null || fail "users create"
printf 'vin,make,model\n5YJ3E1EA8KF000001,Tesla,Model 3\n' >vehicles.csv
"$bin" import vehicles vehicles.csv --owner kill9@example.com >/dev/null 2>&1 || fail "import"

start_server() {
  "$bin" serve >"$work/server.log" 2>&1 & server=$!
  for _ in $(seq 100); do
    port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$work/server.log" | tail -1)
    [ -n "$port" ] && curl -sf "http://127.0.0.1:$port/health" >/dev/null && return 0
    sleep 0.1
  done
  fail "server did not start"
}
start_server
token=$(curl -sf "http://127.0.0.1:$port/api/v1/auth/login" -H 'Content-Type: application/json' \
  -d '{"email":"kill9@example.com","password":"kill9-password-1"}' | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
[ -n "$token" ] || fail "login"
url="http://127.0.0.1:$port/api/v1/vehicles/5YJ3E1EA8KF000001/telemetry"

# Four writers, each posting batches of 100 samples x 3 signals with times of its own; a writer
# records a batch only when the server answered 202 (committed).
base=$(( $(date +%s) * 1000 - 10 * 86400000 ))  # writers: 1.2 days of time each
writer() {
  local id=$1 n=0
  while :; do
    local body="{\"samples\":[" t
    for i in $(seq 0 99); do
      t=$(( base + id * 100000000 + n * 100 + i ))
      body+="{\"t_ms\":$t,\"speed_kmh\":$i,\"rpm\":$((1000 + i)),\"odometer_km\":$n.$i}"
      [ "$i" -lt 99 ] && body+=","
    done
    body+="]}"
    code=$(curl -s -o "$work/resp.$id" -w '%{http_code}' -H "Authorization: Bearer $token" \
      -H 'Content-Type: application/json' --data-binary "$body" "$url") || break
    if [ "$code" = 202 ]; then
      # (the body has no final newline, so sed's output would not either: printf adds one)
      printf '%s\n' "$(sed -n 's/.*"accepted":\([0-9]*\).*/\1/p' "$work/resp.$id")" >>"$work/acked.$id"
    else
      break
    fi
    n=$((n + 1))
  done
}
for w in 1 2 3 4; do writer "$w" & done
sleep 3
kill -9 "$server"
wait "$server" 2>/dev/null
server=""
wait  # the writers stop at their first failed request

acked=$(cat "$work"/acked.* 2>/dev/null | awk '{s += $1} END {print s + 0}')
[ "$acked" -gt 0 ] || fail "no batch was acknowledged before the kill"

start_server
count() {  # rows of one signal, counted by the server in 1-day buckets
  curl -sf -H "Authorization: Bearer $token" \
    "http://127.0.0.1:$port/api/v1/vehicles/5YJ3E1EA8KF000001/signals/$1/history?from=2000-01-01T00:00:00Z&bucket=1d&agg=count&limit=10000" |
    grep -o '"value":[0-9]*' | cut -d: -f2 | awk '{s += $1} END {print s + 0}'
}
stored=$(( $(count Motion.Speed) + $(count Engine.RPM) + $(count Odometer.TraveledDistance) ))
echo "acknowledged $acked rows before kill -9; $stored rows stored after restart"
[ "$stored" -ge "$acked" ] || fail "acknowledged rows were lost"
echo "1 passed, 0 failed"
