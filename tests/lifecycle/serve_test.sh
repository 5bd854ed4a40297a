#!/usr/bin/env bash
# The real binary's lifecycle, as a newcomer runs it: `motorpool serve` in development mode on an
# empty database, a login with the README's demo account, then SIGTERM while a request is in flight.
# The request is answered, the server exits 0, and no sanitizer report appears (the binary under
# `make test` is the ASan+UBSan build).
#   tests/lifecycle/serve_test.sh path/to/motorpool
set -uo pipefail
bin=$1
work=$(mktemp -d)
server=""
cleanup() { [ -n "$server" ] && kill -9 "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
cd "$work"
unset DATABASE_URL SECRET_KEY MOTORPOOL_ENCRYPTION_KEY
export MOTORPOOL_ENV=development MOTORPOOL_HOST=127.0.0.1 PORT=0 MOTORPOOL_LOG_LEVEL=info
passed=0
failed=0
check() {  # check NAME CONDITION...
  local name=$1; shift
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $name"; fi
}

"$bin" serve >"$work/stdout" 2>"$work/stderr" & server=$!
port=""
for _ in $(seq 200); do
  port=$(sed -n 's/.*motorpool is running at http:\/\/[^:]*:\([0-9]*\)$/\1/p' "$work/stdout" | head -1)
  [ -n "$port" ] && curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
  sleep 0.1
done
check "serve starts on an empty database and prints its URL" test -n "$port"
check "serve prints the demo logins" grep -q "member@motorpool.local and admin@motorpool.local, password motorpool-demo" "$work/stdout"
login='{"email":"member@motorpool.local","password":"motorpool-demo"}'
token=$(curl -s "http://127.0.0.1:$port/api/v1/auth/login" -H 'Content-Type: application/json' -d "$login" | jq -r .access_token)
check "the README's demo login works" test -n "$token" -a "$token" != null

# A request held in flight for a while: a dongle batch of 10,000 samples (parsed, validated and
# committed under the sanitizers: a good part of a second). SIGTERM lands while it is handled; the
# access line logged after the shutdown began proves it was in flight.
vehicle=$(curl -s "http://127.0.0.1:$port/api/v1/vehicles" -H "Authorization: Bearer $token" \
  -H 'Content-Type: application/json' -d '{"vin":"5YJ3E1EA8KF000001","make":"Tesla","model":"Model 3"}' | jq -r .id)
check "the demo member registers a vehicle" test -n "$vehicle" -a "$vehicle" != null
now=$(date +%s%3N)
awk -v now="$now" 'BEGIN {
  printf "{\"samples\":[";
  for (i = 0; i < 10000; i++) printf "%s{\"t_ms\":%.0f,\"speed_kmh\":%d,\"rpm\":%d,\"odometer_km\":%d.5}", (i ? "," : ""), now - 10000 + i, i % 200, 800 + i % 5000, 1000 + i;
  printf "]}" }' >"$work/batch.json"
curl -s -o "$work/inflight.json" -w '%{http_code}' -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  --data-binary @"$work/batch.json" "http://127.0.0.1:$port/api/v1/vehicles/$vehicle/telemetry" >"$work/inflight.status" & client=$!
for _ in $(seq 200); do  # in the handler once two requests are (the refresh and this /metrics)
  curl -s "http://127.0.0.1:$port/metrics" |
    awk '/^motorpool_http_requests_in_flight / {found = ($2 >= 2)} END {exit !found}' && break
  sleep 0.01
done
kill -TERM "$server"
wait "$client"
wait "$server"
status=$?
server=""
check "the in-flight request is answered" test "$(cat "$work/inflight.status")" = 202
check "the in-flight batch was committed whole" test "$(jq -r .accepted "$work/inflight.json")" = 30000
check "the request was in flight when SIGTERM arrived" \
  bash -c 'awk "/received SIGTERM/ {t = 1} t && /path=\/api\/v1\/vehicles\/.*\/telemetry/ {f = 1} END {exit !f}" "$0"' "$work/stderr"
check "serve exits 0 after SIGTERM" test "$status" -eq 0
check "serve says it stopped" grep -q "motorpool stopped" "$work/stderr"
check "no sanitizer report" bash -c '! grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: UndefinedBehaviorSanitizer" "$0"' "$work/stderr"
[ "$failed" -eq 0 ] || { echo "--- server stderr (tail)"; tail -20 "$work/stderr"; }
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
