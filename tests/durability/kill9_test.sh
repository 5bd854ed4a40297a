#!/usr/bin/env bash
# Durability: every telemetry row the server acknowledged (202) is present after `kill -9`, and
# every Smartcar webhook delivery it acknowledged (200) but had not processed yet is processed
# after the restart.
# SQLite in WAL mode, once with synchronous=NORMAL (a process crash loses nothing committed, only an
# OS crash or power loss may) and once with FULL, the default. Uploads run concurrently while the
# server dies; every acknowledged row is checked by its time and value.
#   tests/durability/kill9_test.sh path/to/motorpool
set -uo pipefail
bin=$1
work=$(mktemp -d)
server=""
cleanup() { [ -n "$server" ] && kill -9 "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
cd "$work"
export MOTORPOOL_ENV=test MOTORPOOL_LOG_LEVEL=info SECRET_KEY=kill9-test-secret-key-0123456789abcdef \
  MOTORPOOL_HOST=127.0.0.1 PORT=0
fail() { echo "FAILED: $*"; exit 1; }

start_server() {
  "$bin" serve >"$work/server.log" 2>&1 & server=$!
  for _ in $(seq 100); do
    port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$work/server.log" | tail -1)
    [ -n "$port" ] && curl -sf "http://127.0.0.1:$port/health" >/dev/null && return 0
    sleep 0.1
  done
  fail "server did not start"
}

# Four writers, each posting batches of 100 samples x 3 signals with times of its own; a writer
# records a batch's number only when the server answered 202 (committed). After kill -9 and a
# restart, every row of every acknowledged batch must be there with its value: checked row by row,
# so rows of unacknowledged in-flight batches cannot make up for lost acknowledged ones.
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
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" \
      -H 'Content-Type: application/json' --data-binary "$body" "$url") || break
    [ "$code" = 202 ] || break
    echo "$n" >>"$work/acked.$id"
    n=$((n + 1))
  done
}

# Each acknowledged batch's rows as "time|signal|value", in the server's own formats (jq writes both
# sides, so numbers compare as written).
expected_rows() {  # expected_rows WRITER: from the numbers in acked.WRITER
  jq -rn --argjson base "$base" --argjson id "$1" --argjson ns "$(jq -s . "$work/acked.$1")" '
    def ts($t): ($t / 1000 | floor | todate) as $s | ($t % 1000) as $ms |
      if $ms == 0 then $s else $s[0:19] + "." + ("00" + ($ms | tostring))[-3:] + "Z" end;
    $ns[] as $n | range(0; 100) as $i | ($base + $id * 100000000 + $n * 100 + $i) as $t |
      "\(ts($t))|Motion.Speed|\($i)",
      "\(ts($t))|Engine.RPM|\(1000 + $i)",
      "\(ts($t))|Odometer.TraveledDistance|\("\($n).\($i)" | tonumber)"'
}
stored_rows() {  # stored_rows WRITER: what the server returns for the writer's time range
  local id=$1 last from to signal chunk
  last=$(sort -n "$work/acked.$id" | tail -1)
  for signal in Motion.Speed Engine.RPM Odometer.TraveledDistance; do
    for ((chunk = 0; chunk <= last; chunk += 100)); do  # 100 batches = 10,000 points, one page
      from=$(( base + id * 100000000 + chunk * 100 )); to=$(( from + 100 * 100 ))
      curl -sf -H "Authorization: Bearer $token" \
        "http://127.0.0.1:$port/api/v1/vehicles/5YJ3E1EA8KF000001/signals/$signal/history?from=$from&to=$to&limit=10000" |
        jq -r --arg s "$signal" '.points[] | "\(.time)|\($s)|\(.value)"'
    done
  done
}

# One run per SQLite setting: NORMAL (a process crash loses nothing committed) and FULL, the default.
for mode in NORMAL FULL; do
  export DATABASE_URL="sqlite:///$work/kill9-$mode.db" MOTORPOOL_SQLITE_SYNCHRONOUS=$mode
  rm -f "$work"/acked.*
  echo "kill9-password-1" | "$bin" users create --email kill9@example.com --password-stdin >/dev/null || fail "users create"
  printf 'vin,make,model\n5YJ3E1EA8KF000001,Tesla,Model 3\n' >vehicles.csv
  "$bin" import vehicles vehicles.csv --owner kill9@example.com >/dev/null 2>&1 || fail "import"
  start_server
  token=$(curl -sf "http://127.0.0.1:$port/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d '{"email":"kill9@example.com","password":"kill9-password-1"}' | jq -r .access_token)
  [ -n "$token" ] && [ "$token" != null ] || fail "login"
  url="http://127.0.0.1:$port/api/v1/vehicles/5YJ3E1EA8KF000001/telemetry"
  for w in 1 2 3 4; do writer "$w" & done
  sleep 3
  kill -9 "$server"
  wait "$server" 2>/dev/null
  server=""
  wait  # the writers stop at their first failed request
  batches=$(cat "$work"/acked.* 2>/dev/null | wc -l)
  [ "$batches" -gt 0 ] || fail "$mode: no batch was acknowledged before the kill"
  start_server
  missing=0
  for w in 1 2 3 4; do
    [ -s "$work/acked.$w" ] || continue
    expected_rows "$w" | sort >"$work/expected.$w"
    stored_rows "$w" | sort >"$work/stored.$w"
    lost=$(comm -23 "$work/expected.$w" "$work/stored.$w" | wc -l)
    [ "$lost" -eq 0 ] || comm -23 "$work/expected.$w" "$work/stored.$w" | head -3
    missing=$((missing + lost))
  done
  rows=$(cat "$work"/expected.* | wc -l)
  echo "$mode: $batches batches ($rows rows) acknowledged before kill -9; $missing of them missing after restart"
  [ "$missing" -eq 0 ] || fail "$mode: acknowledged rows were lost or changed"
  [ "$rows" -eq $((batches * 300)) ] || fail "$mode: the expected rows were not all listed"
  rm -f "$work"/expected.* "$work"/stored.*
  kill -9 "$server"; wait "$server" 2>/dev/null; server=""
done

# Webhooks: deliveries acknowledged while processing is held back, then kill -9, then a restart
# that processes them all (on the FULL database of the last run).
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
echo "3 passed, 0 failed"
