#!/usr/bin/env bash
# Durability: every telemetry row the server acknowledged (202) is present after `kill -9`, and
# every Smartcar webhook delivery it acknowledged (200) but had not processed yet is processed
# after the restart.
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

# Webhooks: deliveries acknowledged while processing is held back, then kill -9, then a restart
# that processes them all.
kill -9 "$server"; wait "$server" 2>/dev/null; server=""
export SMARTCAR_MANAGEMENT_TOKEN=kill9-amt SMARTCAR_SIM_WEBHOOK_URL=off
MOTORPOOL_WEBHOOK_PROCESSING=false start_server
connect=$(curl -sf "http://127.0.0.1:$port/api/v1/connect/smartcar" -H "Authorization: Bearer $token" | jq -r .url)
linked=$(curl -sfL "$connect&approve=true")
car=$(jq -r '.vehicles[0].smartcar_vehicle_id' <<<"$linked")
vehicle=$(jq -r '.vehicles[0].vehicle_id' <<<"$linked")
[ -n "$car" ] && [ "$car" != null ] || fail "smartcar connect: $linked"
then=$(( $(date +%s) * 1000 - 5 * 86400000 ))  # readings of five days ago: apart from any poll
deliveries=40
node - "$port" "$car" "$then" "$deliveries" >"$work/webhooks.txt" <<'JS' || fail "webhook deliveries"
const [port, car, then, n] = process.argv.slice(2);
const {createHmac} = await import('node:crypto');
let acked = 0;
for (let i = 0; i < Number(n); i++) {
  const t = Number(then) + i * 1000;
  const body = JSON.stringify({eventId: `kill9-${i}`, eventType: 'VEHICLE_STATE',
    data: {vehicle: {id: car}, signals: [{code: 'tractionbattery-stateofcharge', name: 'StateOfCharge',
      group: 'TractionBattery', body: {unit: 'percent', value: 50 + i % 40}, meta: {oemUpdatedAt: t},
      status: {value: 'SUCCESS'}}]}, meta: {version: '4.0', deliveredAt: t}});
  const r = await fetch(`http://127.0.0.1:${port}/webhooks/smartcar`, {method: 'POST', body,
    headers: {'Content-Type': 'application/json',
      'SC-Signature': createHmac('sha256', 'kill9-amt').update(body).digest('hex')}});
  if (r.status === 200) acked++;
}
console.log(acked);
JS
webhooks_acked=$(cat "$work/webhooks.txt")
[ "$webhooks_acked" -eq "$deliveries" ] || fail "only $webhooks_acked of $deliveries deliveries acknowledged"
kill -9 "$server"; wait "$server" 2>/dev/null; server=""
MOTORPOOL_WEBHOOK_PROCESSING=true start_server
from=$(( then - 1000 )); to=$(( then + deliveries * 1000 ))
processed=0
for _ in $(seq 100); do
  processed=$(curl -sf -H "Authorization: Bearer $token" \
    "http://127.0.0.1:$port/api/v1/vehicles/$vehicle/signals/TractionBattery.StateOfCharge/history?from=$from&to=$to" |
    jq '.points | length')
  [ "$processed" -ge "$deliveries" ] && break
  sleep 0.1
done
echo "acknowledged $webhooks_acked webhook deliveries before kill -9; $processed processed after restart"
[ "$processed" -eq "$deliveries" ] || fail "acknowledged webhook deliveries were lost"
echo "2 passed, 0 failed"
