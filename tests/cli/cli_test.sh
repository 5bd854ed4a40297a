#!/usr/bin/env bash
# The motorpool command line on a fresh SQLite database: config masks secrets, migrate and
# migrate --status, users create/list (password from stdin only), import, keys generate/rotate over a
# real Smartcar connection, smartcar-sim, and refusals with exit codes.
#   tests/cli/cli_test.sh path/to/motorpool
set -uo pipefail
bin=$1
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
cd "$work"
export DATABASE_URL="sqlite:///$work/cli.db" MOTORPOOL_LOG_LEVEL=warn MOTORPOOL_ENV=development
passed=0
failed=0
check() {  # check NAME CONDITION...
  local name=$1; shift
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $name"; fi
}

out=$(SECRET_KEY=very-secret-signing-key-0123456789 "$bin" config)
check "config masks SECRET_KEY" grep -q "SECRET_KEY .*\*\*\*\* (34 chars)" <<<"$out"
check "config never prints the secret" bash -c '! grep -q very-secret-signing-key <<<"$0"' "$out"
out=$(DATABASE_URL=postgresql://u:hunter2@db.invalid/mp "$bin" config)
check "config masks the database password" bash -c 'grep -q "postgresql://u:\*\*\*\*@db.invalid/mp" <<<"$0" && ! grep -q hunter2 <<<"$0"' "$out"

out=$("$bin" config)
check "config names the secrets file as the management token's source" grep -q "SMARTCAR_MANAGEMENT_TOKEN .*(secrets file .*cli.db.secrets)" <<<"$out"
check "config shows the derived redirect URI" grep -q "SMARTCAR_REDIRECT_URI .*http://127.0.0.1:8000/oauth/smartcar/callback .*(derived" <<<"$out"
check "config shows the simulator's origin in simulated mode" grep -q "SMARTCAR_API_ORIGIN .*http://127.0.0.1:8000/sim/smartcar" <<<"$out"

out=$("$bin" migrate)
check "migrate applies" grep -q "migration(s) applied" <<<"$out"
out=$("$bin" migrate --status)
check "migrate --status lists applied migrations by module" bash -c 'grep -q "^db  *0001 baseline .*applied" <<<"$0" && grep -q "^auth  *0001 accounts .*applied" <<<"$0" && grep -q "^mail  *0001 outbox .*applied" <<<"$0"' "$out"

# MOTORPOOL_AUTO_MIGRATE=false: serve refuses a database with pending migrations (exit 3), names
# the command; after `migrate`, it would start. A migration changed after it was applied: exit 3.
out=$(DATABASE_URL="sqlite:///$work/manual.db" MOTORPOOL_AUTO_MIGRATE=false "$bin" serve 2>&1)
status=$?
check "serve without auto-migration refuses pending migrations (3)" test $status -eq 3
check "it says what to run" grep -q "pending and MOTORPOOL_AUTO_MIGRATE=false: run \`motorpool migrate\`" <<<"$out"
DATABASE_URL="sqlite:///$work/manual.db" "$bin" migrate >/dev/null
python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("UPDATE module_migrations SET checksum = ? WHERE module = ? AND version = 1", ("0" * 64, "db")); c.commit()' "$work/manual.db"
out=$(DATABASE_URL="sqlite:///$work/manual.db" "$bin" migrate 2>&1)
status=$?
check "migrate refuses an applied migration that changed (3)" test $status -eq 3
check "and says which" grep -q "migration db/0001_baseline was changed after it was applied" <<<"$out"
out=$(DATABASE_URL="sqlite:///$work/manual.db" "$bin" migrate --status 2>&1)
check "migrate --status flags it" grep -q "^db  *0001 baseline .*CHANGED SINCE APPLIED" <<<"$out"
DATABASE_URL="sqlite:///$work/manual.db" MOTORPOOL_AUTO_MIGRATE=false "$bin" serve >/dev/null 2>&1
check "serve without auto-migration refuses it too (3)" test $? -eq 3

echo "cli-password-1" | "$bin" users create --email Ops@Example.com --name Ops --role admin --password-stdin >/dev/null
check "users create" test $? -eq 0
out=$("$bin" users list)
check "users list shows the normalised e-mail and role" grep -q "ops@example.com .*admin .*active" <<<"$out"
echo "cli-password-1" | "$bin" users create --email ops@example.com --password-stdin >/dev/null 2>&1
check "duplicate e-mail is bad input (5)" test $? -eq 5
echo "short" | "$bin" users create --email x@example.com --password-stdin >/dev/null 2>&1
check "short password is bad input (5)" test $? -eq 5
echo "long enough pw" | "$bin" users create --email x@example.com --role emperor --password-stdin >/dev/null 2>&1
check "unknown role refused" test $? -eq 2
"$bin" users create --email x@example.com >/dev/null 2>&1
check "password only from stdin" test $? -ne 0
out=$("$bin" import vehicles "$repo/data/vehicles.csv" --owner ops@example.com 2>"$work/progress")
check "import of the shipped catalogue inserts 1000 vehicles" bash -c 'grep -q "inserted   1000" <<<"$0" && grep -q "rejected   0" <<<"$0"' "$out"
check "import shows progress on stderr when not a terminal" grep -q "import: 1000 rows (100%)" "$work/progress"
out=$("$bin" import vehicles "$repo/data/vehicles.csv" --limit 10 2>/dev/null)
check "a second import finds the rows unchanged" bash -c 'grep -q "rows read  10" <<<"$0" && grep -q "unchanged  10" <<<"$0"' "$out"
echo "cli-password-2" | "$bin" users create --email other@example.com --password-stdin >/dev/null 2>&1
out=$("$bin" import vehicles "$repo/data/vehicles.csv" --limit 10 --owner other@example.com 2>/dev/null)
check "re-importing with another --owner keeps the owners and says so" bash -c 'grep -q "unchanged  10" <<<"$0" && grep -q "owner kept 10 " <<<"$0" && grep -q -- "--reassign-owner" <<<"$0"' "$out"
out=$("$bin" import vehicles "$repo/data/vehicles.csv" --limit 10 --owner other@example.com --reassign-owner 2>/dev/null)
check "--reassign-owner gives them to the new owner" bash -c 'grep -q "updated    10" <<<"$0" && ! grep -q "owner kept" <<<"$0"' "$out"
# The original catalog seeder's spellings: --csv-path, --limit -1 (all), --skip-existing.
head -4 "$repo/data/vehicles.csv" >"$work/seed.csv"
printf '1M8GDM9AXKP042788,Motor Coach,Bus,,,,,,,\n' >>"$work/seed.csv"
out=$("$bin" import vehicles --csv-path "$work/seed.csv" --limit -1 --skip-existing 2>/dev/null)
check "--csv-path --limit -1 --skip-existing: new rows in, known ones left" bash -c 'grep -q "rows read  4" <<<"$0" && grep -q "inserted   1$" <<<"$0" && grep -q "updated    0$" <<<"$0" && grep -q "skipped    3 " <<<"$0"' "$out"
"$bin" import vehicles "$work/seed.csv" --csv-path "$work/seed.csv" >/dev/null 2>&1
check "a file given twice is a usage error (2)" test $? -eq 2
"$bin" import vehicles >/dev/null 2>&1
check "no file is a usage error (2)" test $? -eq 2
"$bin" import vehicles "$repo/data/vehicles.csv" --limit 1 --reassign-owner >/dev/null 2>&1
check "--reassign-owner needs --owner (usage, 2)" test $? -eq 2
out=$(MOTORPOOL_LOG_LEVEL=info "$bin" users list 2>&1)
check "a command other than serve does not say the server stopped" bash -c '! grep -q "motorpool stopped" <<<"$0"' "$out"
printf 'vin,make,model\n1G4AH59H45G118341,Buick,Century\n1G4AH59H55G118341,Buick,Century\n' >"$work/bad.csv"
out=$("$bin" import vehicles "$work/bad.csv" 2>/dev/null)
status=$?
check "an import with rejects exits 4" test $status -eq 4
check "a reject names its line and reason" grep -q "line 3 1G4AH59H55G118341: vin: check digit (position 9) is '5', expected '4'" <<<"$out"
# A VIN three times (once in lower case) and invalid UTF-8: rejected rows, each with its line.
printf 'vin,make,model\n1HGCM82633A004352,Honda,Civic\n1hgcm82633a004352,Honda,Accord\n1HGCM82633A004352,Honda,Jazz\n1HGCM82603A000081,Hon\xff\xfeda,Civic\n1HGCM82623A000082,Honda,Civ\xed\xa0\x80ic\n' >"$work/repeat.csv"
out=$("$bin" import vehicles "$work/repeat.csv" 2>/dev/null)
status=$?
check "repeated VINs and invalid UTF-8: exit 4" test $status -eq 4
check "repeated VINs: one inserted, four rejected" bash -c 'grep -q "inserted   1$" <<<"$0" && grep -q "updated    0$" <<<"$0" && grep -q "rejected   4$" <<<"$0"' "$out"
check "a repeated VIN names the first line" grep -q "line 3 1HGCM82633A004352: vin: repeats the VIN of line 2" <<<"$out"
check "a repeated VIN in another case is the same VIN" grep -q "line 4 1HGCM82633A004352: vin: repeats the VIN of line 2" <<<"$out"
check "invalid UTF-8 is rejected" grep -q "line 5 1HGCM82603A000081: make: must be valid UTF-8" <<<"$out"
check "an encoded surrogate is rejected" grep -q "line 6 .*model: must be valid UTF-8" <<<"$out"
"$bin" import vehicles "$work/repeat.csv" --limit -5 --batch-size 0 >/dev/null 2>&1
check "an out-of-range option is a usage error (2)" test $? -eq 2
"$bin" import vehicles "$work/repeat.csv" --no-such-option >/dev/null 2>&1
check "an unknown option is a usage error (2)" test $? -eq 2
"$bin" --help >/dev/null 2>&1
check "--help exits 0" test $? -eq 0
"$bin" import vehicles "$work/missing.csv" >/dev/null 2>&1
check "a missing file is bad input (5)" test $? -eq 5
printf 'make,model\nA,B\n' >"$work/nohead.csv"
"$bin" import vehicles "$work/nohead.csv" >/dev/null 2>&1
check "a file without a vin column is bad input (5)" test $? -eq 5
"$bin" import vehicles "$repo/data/vehicles.csv" --owner nobody@example.com >/dev/null 2>&1
check "an unknown owner is bad input (5)" test $? -eq 5

PORT=99999 "$bin" config >/dev/null 2>&1
check "bad PORT is a configuration error" test $? -eq 2
MOTORPOOL_ENV=production "$bin" serve >/dev/null 2>&1
check "production refuses to start without secrets" test $? -eq 2

# Keys, the simulator on its own, and a key rotation over a real Smartcar connection.
out=$("$bin" keys generate)
check "keys generate prints base64 of 32 bytes" bash -c '[ "$(printf %s "$0" | base64 -d | wc -c)" -eq 32 ]' "$out"
wait_for() {  # wait_for FILE PATTERN: the line, once a background command printed it
  for _ in $(seq 100); do grep -q "$2" "$1" 2>/dev/null && break; sleep 0.1; done
  grep -m1 "$2" "$1"
}
"$bin" smartcar-sim --port 0 >"$work/sim.out" 2>&1 & sim=$!
sim_port=$(wait_for "$work/sim.out" "Smartcar simulator at" | sed 's/.*:\([0-9]*\)$/\1/')
out=$(curl -s "http://127.0.0.1:$sim_port/v2.0/vehicles/")
check "smartcar-sim answers as Smartcar" test "$(jq -r '.type + " " + (.statusCode | tostring)' <<<"$out")" = "AUTHENTICATION 401"
kill "$sim"; wait "$sim" 2>/dev/null

MOTORPOOL_HOST=127.0.0.1 PORT=0 "$bin" serve >"$work/serve.out" 2>&1 & server=$!
port=$(wait_for "$work/serve.out" "motorpool is running at" | sed 's/.*:\([0-9]*\)$/\1/')
base="http://127.0.0.1:$port"
token=$(curl -s "$base/api/v1/auth/login" -H 'Content-Type: application/json' \
  -d '{"email":"ops@example.com","password":"cli-password-1"}' | jq -r .access_token)
url=$(curl -s "$base/api/v1/connect/smartcar" -H "Authorization: Bearer $token" | jq -r .url)
connected=$(curl -sL "$url&approve=true")
check "a simulated car connects with curl" test "$(jq '.vehicles | length' <<<"$connected")" -ge 1
vid=$(jq -r '.vehicles[0].vehicle_id' <<<"$connected")
# The live feed from the command line: a dongle upload seen by `motorpool watch`.
"$bin" watch "vehicle.$vid" --url "$base" --token "$token" --count 1 --timeout 20 >"$work/watch.out" 2>&1 & watcher=$!
wait_for "$work/watch.out" '"SUBSCRIBED"' >/dev/null
curl -s "$base/api/v1/vehicles/$vid/telemetry" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"samples":[{"t_ms":'"$(date +%s%3N)"',"speed_kmh":42.5}]}' >/dev/null
wait "$watcher"
status=$?
check "watch exits 0 after --count events" test $status -eq 0
check "watch prints the SIGNALS frame of the upload" grep -q '"type":"SIGNALS".*"Motion.Speed":{"value":42.5' "$work/watch.out"
"$bin" watch fleet --url "$base" --token "$token" --timeout 5 >/dev/null 2>&1
check "watch exits 0 at --timeout (an admin may watch the fleet)" test $? -eq 0
"$bin" watch "vehicle.$vid" --url "$base" --token not-a-token --timeout 5 >/dev/null 2>&1
check "watch with a bad token is refused input (5)" test $? -eq 5
"$bin" watch "weather.berlin" --url "$base" --token "$token" --timeout 5 >/dev/null 2>&1
check "watch of an unknown topic is refused (5)" test $? -eq 5
"$bin" watch fleet --url "ftp://x" --token "$token" >/dev/null 2>&1
check "watch with a bad --url is a usage error (2)" test $? -eq 2
# No token value in the database files in plain text: every uuid4-shaped string in them (the
# simulator's tokens are uuid4s) is tried at the simulator as an access token and as a refresh token.
client_id=$(sed -n 's/^SMARTCAR_CLIENT_ID=//p' "$work/cli.db.secrets")
client_secret=$(sed -n 's/^SMARTCAR_CLIENT_SECRET=//p' "$work/cli.db.secrets")
candidates=$(cat "$work"/cli.db* 2>/dev/null | grep -aoE '[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}' | sort -u)
live=0
for candidate in $candidates; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "$base/sim/smartcar/v2.0/vehicles" -H "Authorization: Bearer $candidate")
  [ "$code" = 200 ] && live=$((live + 1))
  code=$(curl -s -o /dev/null -w '%{http_code}' -u "$client_id:$client_secret" "$base/sim/smartcar/oauth/token" \
    -d "grant_type=refresh_token&refresh_token=$candidate")
  [ "$code" = 200 ] && live=$((live + 1))
done
check "the database files hold uuid4s to try (the check below is not vacuous)" test -n "$candidates"
check "no access or refresh token value in the database files" test $live -eq 0
kill -INT "$server"; wait "$server" 2>/dev/null
old_key=$(sed -n 's/^MOTORPOOL_ENCRYPTION_KEY=//p' "$work/cli.db.secrets")
new_key=$("$bin" keys generate)
out=$(MOTORPOOL_ENCRYPTION_KEY=$new_key MOTORPOOL_ENCRYPTION_KEYS_PREVIOUS=$old_key "$bin" keys rotate)
check "keys rotate re-seals both tokens and the simulator's saved state" grep -q "re-sealed 3 value(s)" <<<"$out"
out=$(MOTORPOOL_ENCRYPTION_KEY=$new_key "$bin" keys rotate)
check "a second rotation finds nothing to do" grep -q "re-sealed 0 value(s)" <<<"$out"
MOTORPOOL_ENCRYPTION_KEY=$("$bin" keys generate) "$bin" keys rotate >/dev/null 2>&1
check "a rotation without the old key fails" test $? -eq 1

# users works on accounts alone: on a database where the Smartcar simulator saved its state (the
# serve above), it starts no simulator (which would load that state, and say so) and no other module.
out=$(MOTORPOOL_LOG_LEVEL=info "$bin" users list 2>&1)
check "users list still lists" grep -q "ops@example.com" <<<"$out"
check "users list starts no Smartcar simulator (nothing about its saved state)" bash -c '! grep -q "smartcar simulator" <<<"$0"' "$out"

# serve --host and --port win over MOTORPOOL_HOST and PORT.
free_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DATABASE_URL="sqlite:///$work/flags.db" MOTORPOOL_HOST=192.0.2.1 PORT=1 "$bin" serve --host 127.0.0.1 --port "$free_port" >/dev/null 2>&1 & flagged=$!
up=1
for _ in $(seq 200); do curl -sf "http://127.0.0.1:$free_port/health" >/dev/null && { up=0; break; }; sleep 0.1; done
check "serve --host 127.0.0.1 --port P listens there, whatever MOTORPOOL_HOST and PORT say" test $up -eq 0
kill -TERM "$flagged"; wait "$flagged" 2>/dev/null
"$bin" serve --port 70000 >/dev/null 2>&1
check "serve --port 70000 is a usage error (2)" test $? -eq 2
"$bin" serve --host "" >/dev/null 2>&1
check "serve --host with nothing is a usage error (2)" test $? -eq 2

# charging replay: the allocator over a sessions file, figures as JSON, the schedule as CSV.
printf 'session_id,station_id,arrival_period,departure_period,requested_energy_kwh,max_power_kw\na,S1,0,12,6.6,6.6\nb,S2,0,12,6.6,6.6\n' >"$work/two.csv"
out=$("$bin" charging replay "$work/two.csv" --capacity-kw 6.6 --schedule "$work/schedule.csv")
check "charging replay shares 6.6 kW for an hour between two cars: 6.6 of 13.2 kWh" \
  python3 -c 'import json,sys; r=json.loads(sys.argv[1]); assert abs(r["delivered_kwh"]-6.6)<1e-6 and r["peak_kw"]<=6.6+1e-9 and abs(r["jain"]-1)<1e-9, r' "$out"
check "charging replay writes the schedule: period,session_id,power_kw" \
  bash -c 'head -1 "$0" | grep -q "^period,session_id,power_kw$" && [ "$(tail -n +2 "$0" | wc -l)" -eq 24 ]' "$work/schedule.csv"
printf 'session_id,station_id,arrival_period,departure_period,requested_energy_kwh,max_power_kw\nbad,S1,9,3,1,6.6\n' >"$work/bad.csv"
"$bin" charging replay "$work/bad.csv" --capacity-kw 10 >/dev/null 2>&1
check "charging replay refuses a session that leaves before it arrives (5)" test $? -eq 5

# The endpoint inventory (docs/endpoints.md) is what `motorpool routes --markdown` prints for every
# surface mounted as the authorisation test mounts them: a new route, or a changed limit or
# authentication, changes the command's table, and this fails until the document says so too.
out=$(SMARTCAR_MODE=simulated MOTORPOOL_COMPAT="smartcar-integration@/c/si,smartcar-webhooks@/c/sw,membership-auto@/c/ma,charging-balancer@/c/cb,vehicle-catalog@/c/vc" \
  "$bin" routes --markdown 2>/dev/null)
check "routes lists the bearer-authenticated vehicle list" grep -q '^| GET | `/api/v1/vehicles` | bearer |' <<<"$out"
check "routes lists the OCPP socket with Basic credentials" grep -q '^| GET (WebSocket) | `/ocpp/{chargePointId}` | basic' <<<"$out"
documented=$(sed -n '/^| Method | Path |/,$p' "$repo/docs/endpoints.md")
check "docs/endpoints.md is the inventory the server prints (regenerate: see its first lines)" \
  test "$out" = "$documented"
[ "$out" = "$documented" ] || diff <(echo "$out") <(echo "$documented") | head -n 20

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
