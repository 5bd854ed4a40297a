#!/usr/bin/env bash
# Two motorpool processes on one PostgreSQL, as a scaled-out deployment runs them, against one
# Smartcar (the simulator on its own): started at once on an empty database (their migrations
# race), then a token refresh forced on both at the same moment and a poll due on both; the
# simulator's own request log must show exactly one refresh and one batch call per vehicle.
# Needs scripts/with-postgres (MOTORPOOL_TEST_PG_URL); exits 77 (skipped) without it.
#   scripts/with-postgres tests/cluster/two_nodes_test.sh path/to/motorpool
set -uo pipefail
bin=$1
[ -n "${MOTORPOOL_TEST_PG_URL:-}" ] || { echo "no PostgreSQL (run under scripts/with-postgres)"; exit 77; }
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
cd "$work"
passed=0
failed=0
check() {  # check NAME CONDITION...
  local name=$1; shift
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $name"; fi
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_health() { for _ in $(seq 300); do curl -sf "http://127.0.0.1:$1/health" >/dev/null && return 0; sleep 0.1; done; return 1; }

db="two_nodes_$$"
psql "$MOTORPOOL_TEST_PG_URL" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
export DATABASE_URL="${MOTORPOOL_TEST_PG_URL%/*}/$db" MOTORPOOL_ENV=test MOTORPOOL_HOST=127.0.0.1 \
  MOTORPOOL_LOG_LEVEL=info SECRET_KEY=two-nodes-secret-key-0123456789abcdef012345 \
  MOTORPOOL_ENCRYPTION_KEY=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8= \
  SMARTCAR_CLIENT_ID=cluster-client SMARTCAR_CLIENT_SECRET=cluster-secret SMARTCAR_MANAGEMENT_TOKEN=cluster-amt

sim_port=$(free_port)
"$bin" smartcar-sim --port "$sim_port" >"$work/sim.log" 2>&1 & pids+=($!)
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$sim_port/v2.0/vehicles" && break; sleep 0.1; done
sim="http://127.0.0.1:$sim_port"
port_a=$(free_port)
port_b=$(free_port)
node_env=(SMARTCAR_MODE=live SMARTCAR_API_ORIGIN=$sim SMARTCAR_AUTH_ORIGIN=$sim SMARTCAR_CONNECT_ORIGIN=$sim
  SMARTCAR_API_V3_ORIGIN=$sim SMARTCAR_MANAGEMENT_API_ORIGIN=$sim
  SMARTCAR_REDIRECT_URI=http://127.0.0.1:$port_a/oauth/smartcar/callback)
# Both at once on the empty database: each applies the migrations, or waits for the other's.
env "${node_env[@]}" PORT=$port_a "$bin" serve >"$work/a.log" 2>&1 & pids+=($!)
env "${node_env[@]}" PORT=$port_b "$bin" serve >"$work/b.log" 2>&1 & pids+=($!)
wait_health "$port_a"; a_up=$?
wait_health "$port_b"; b_up=$?
check "node A starts on an empty database beside node B" test $a_up -eq 0
check "node B starts too" test $b_up -eq 0
migrations=$(psql "$DATABASE_URL" -Atc "SELECT COUNT(*) || ' ' || COUNT(DISTINCT (module, version)) FROM module_migrations")
expected=$(find "$(dirname "$0")/../../src" -path '*/migrations/postgres/*.sql' | wc -l)
check "every migration applied exactly once ($migrations of $expected)" test "$migrations" = "$expected $expected"

echo "cluster-password-1" | "$bin" users create --email cluster@example.com --password-stdin >/dev/null
token=$(curl -s "http://127.0.0.1:$port_a/api/v1/auth/login" -H 'Content-Type: application/json' \
  -d '{"email":"cluster@example.com","password":"cluster-password-1"}' | jq -r .access_token)
url=$(curl -s "http://127.0.0.1:$port_a/api/v1/connect/smartcar" -H "Authorization: Bearer $token" | jq -r .url)
connected=$(curl -sL "$url&approve=true")
vehicle=$(jq -r '.vehicles[0].vehicle_id' <<<"$connected")
cars=$(jq -r '.vehicles | length' <<<"$connected")
check "a car connects through node A" test -n "$vehicle" -a "$vehicle" != null
requests() { curl -s -u cluster-client:cluster-secret "$sim/admin/requests" | jq "[.items[] | select($1)] | length"; }
# The first poll of a new connection, by one node or the other.
for _ in $(seq 100); do [ "$(requests '.path | endswith("/batch")')" -ge "$cars" ] && break; sleep 0.1; done

# A refresh both nodes need at the same moment: the lease in the row lets one refresh, and the
# other uses its result.
psql "$DATABASE_URL" -qc "UPDATE smartcar_connections SET access_expires_at_ms = 0" >/dev/null
grants_before=$(requests '.method == "POST" and .path == "/oauth/token"')
clients=()
for port in "$port_a" "$port_b"; do
  curl -s -m 30 -o "$work/refresh.$port" -w '%{http_code}' -H "Authorization: Bearer $token" \
    "http://127.0.0.1:$port/api/v1/vehicles/$vehicle/battery?refresh=true" >"$work/status.$port" & clients+=($!)
done
wait "${clients[@]}"
sleep 0.2
grants=$(( $(requests '.method == "POST" and .path == "/oauth/token"') - grants_before ))
check "both nodes answer with fresh data" test "$(cat "$work/status.$port_a") $(cat "$work/status.$port_b")" = "200 200"
check "exactly one token refresh for both nodes (saw $grants)" test "$grants" -eq 1

# A poll due on both nodes: each scheduler tries to claim it; one wins per vehicle.
batches_before=$(requests '.path | endswith("/batch")')
psql "$DATABASE_URL" -qc "UPDATE smartcar_vehicles SET next_poll_at_ms = 0" >/dev/null
sleep 4  # several scheduler ticks on both nodes
batches=$(( $(requests '.path | endswith("/batch")') - batches_before ))
check "one batch call per due vehicle across both nodes (saw $batches for $cars)" test "$batches" -eq "$cars"

for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
for p in "${pids[@]}"; do  # bounded: a process that ignores SIGTERM is killed
  for _ in $(seq 150); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$p" 2>/dev/null
done
wait 2>/dev/null
pids=()
psql "$MOTORPOOL_TEST_PG_URL" -qc "DROP DATABASE IF EXISTS $db" >/dev/null
[ "$failed" -eq 0 ] || { echo "--- node A (tail)"; tail -5 "$work/a.log"; echo "--- node B (tail)"; tail -5 "$work/b.log"; }
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
