#!/usr/bin/env bash
# Faults, part 3 (issue 22): Smartcar failing. One server on loopback (SQLite, simulated mode) with
# VEHICLES simulated cars connected through the real Connect flow and polled every POLL_INTERVAL;
# the built-in simulator's fault injection (POST/DELETE /sim/smartcar/admin/faults) then plays, one
# after the other: 500 on every vehicle call; 429 RATE_LIMIT with Retry-After; every call hanging past
# the client's 30 s timeout; access tokens expired while the token endpoint answers 500 (refresh);
# the code exchange failing during Connect (three times, then once); three connections revoked. Its
# request log is what the server did to Smartcar. Checked (bench/fault_smartcar.py): the server keeps
# its poll schedule (no more than one poll's attempts per car per interval) and honours Retry-After;
# the connection's `status` and `last_error` in GET /api/v1/connections say what is wrong; the same
# connections poll again after each fault with their tokens (no re-connect), except revoked ones,
# which say reauth_required; no burst on recovery (requests per second to Smartcar after the clear at
# most the cars connected); a probe client's authenticated reads stay fast throughout. Under 5 minutes.
#   bench/fault_smartcar.sh
# Environment: VEHICLES (30), POLL_INTERVAL (10, seconds), RETRY_AFTER (15),
#   MOTORPOOL_BIN (default: build/motorpool copied to /tmp/motorpool-fault-sc and run from there)
set -uo pipefail
cd "$(dirname "$0")/.."
VEHICLES=${VEHICLES:-30}
POLL_INTERVAL=${POLL_INTERVAL:-10}
RETRY_AFTER=${RETRY_AFTER:-15}
if [ -z "${MOTORPOOL_BIN:-}" ]; then
  [ -x build/motorpool ] || { echo "bench: build/motorpool is missing (cmake --build build --target motorpool)" >&2; exit 1; }
  MOTORPOOL_BIN=/tmp/motorpool-fault-sc
  cp build/motorpool "$MOTORPOOL_BIN.$$" && mv -f "$MOTORPOOL_BIN.$$" "$MOTORPOOL_BIN"  # a rename: a running copy is not disturbed
fi
work=$(mktemp -d /tmp/fault-smartcar.XXXXXX)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

export MOTORPOOL_LOG_LEVEL=info MOTORPOOL_ENV=test SECRET_KEY=bench-secret-key-0123456789abcdef \
  MOTORPOOL_ENCRYPTION_KEY=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8= SMARTCAR_MODE=simulated \
  SMARTCAR_CLIENT_ID=fault-client SMARTCAR_CLIENT_SECRET=fault-secret SMARTCAR_MANAGEMENT_TOKEN=fault-amt \
  SMARTCAR_SIM_WEBHOOK_URL=off MOTORPOOL_SMARTCAR_POLL_INTERVAL=${POLL_INTERVAL}s \
  VEHICLES POLL_INTERVAL RETRY_AFTER
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DATABASE_URL="sqlite:///$work/motorpool.db" PORT=$port MOTORPOOL_HOST=127.0.0.1 \
  "$MOTORPOOL_BIN" serve >"$work/server.log" 2>&1 & pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$port/health" >/dev/null || { echo "FAIL start: the server did not answer"; cat "$work/server.log"; exit 1; }
echo "== Smartcar failing: $MOTORPOOL_BIN on 127.0.0.1:$port, SQLite, $VEHICLES cars, polled every ${POLL_INTERVAL} s"

python3 bench/fault_smartcar.py "http://127.0.0.1:$port" "$work/server.log"
rc=$?
# The server itself: still serving, and nothing worse than the expected warnings in its log.
if curl -sf "http://127.0.0.1:$port/ready" >/dev/null; then echo "PASS end: the server still answers /ready"; else echo "FAIL end: /ready"; rc=1; fi
errors=$(grep -cE '^\S+ (error|critical) ' "$work/server.log")
if [ "$errors" -eq 0 ]; then echo "PASS end: no error in the server's log"; else
  echo "FAIL end: $errors error lines in the server's log:"; grep -E '^\S+ (error|critical) ' "$work/server.log" | head -5; rc=1; fi
kill "$pid"; wait "$pid"; status=$?; pid=""
if [ "$status" -eq 0 ]; then echo "PASS end: SIGTERM, exit 0"; else echo "FAIL end: exit $status after SIGTERM"; rc=1; fi
exit "$rc"
