#!/usr/bin/env bash
# The OCPP central system under a fleet: CHARGERS simulated charge points (motorpool charger-sim,
# security profile 1) on one node, each sending a heartbeat every HEARTBEAT seconds and
# MeterValues of its two connectors every METER seconds, for DURATION seconds after they all
# connected. Reports the server's memory per connected charger (RSS and anonymous, before and
# after they connected) and the p50/p99/max from a charger's CALL to its CALLRESULT.
#   bench/ocpp.sh                         (CHARGERS=10000 DURATION=120 by default)
#   CHARGERS=20000 bench/ocpp.sh          (needs ulimit -n above CHARGERS in both processes)
set -euo pipefail
cd "$(dirname "$0")/.."

CHARGERS=${CHARGERS:-10000}
DURATION=${DURATION:-120}
HEARTBEAT=${HEARTBEAT:-60}
METER=${METER:-30}
SPREAD_MS=${SPREAD_MS:-$((CHARGERS * 2))}  # connect 500 chargers a second
source bench/lib.sh
bench_build motorpool
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 100); do curl -sf "http://127.0.0.1:$1$2" >/dev/null && return 0; sleep 0.1; done; return 1; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
anon_kib() { awk '/RssAnon/ {print $2}' "/proc/$1/status"; }

export DATABASE_URL="sqlite:///$work/ocpp.db" MOTORPOOL_HOST=127.0.0.1 MOTORPOOL_LOG_LEVEL=warn \
  MOTORPOOL_ENV=test SMARTCAR_SIM_WEBHOOK_URL=off SECRET_KEY=bench-secret-key-0123456789abcdef0123 \
  MOTORPOOL_ENCRYPTION_KEY=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8= SMARTCAR_CLIENT_ID=bench \
  SMARTCAR_CLIENT_SECRET=bench SMARTCAR_MANAGEMENT_TOKEN=bench MOTORPOOL_MAX_CONNECTIONS=$((CHARGERS + 1000))
echo "bench-admin-password" | build/motorpool users create --email ops@bench.test --role admin --password-stdin >/dev/null
port=$(free_port)
PORT=$port build/motorpool serve >"$work/server.log" 2>&1 &
spid=$!
pids+=($spid)
wait_http "$port" /health
token=$(curl -sf -X POST "http://127.0.0.1:$port/api/v1/auth/login" -H 'Content-Type: application/json' \
  -d '{"email":"ops@bench.test","password":"bench-admin-password"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
sleep 1
before_rss=$(rss_kib "$spid"); before_anon=$(anon_kib "$spid")

build/motorpool charger-sim --url "http://127.0.0.1:$port" --token "$token" --chargers "$CHARGERS" --connectors 2 \
  --heartbeat "$HEARTBEAT" --meter-interval "$METER" --connect-spread "$SPREAD_MS" \
  --duration $((DURATION + SPREAD_MS / 1000 + 30)) >"$work/sim.log" 2>&1 &
simpid=$!
pids+=($simpid)
# Registered (REST), then all connected: sample the server's memory while they are idle between messages.
for _ in $(seq 3600); do grep -q "registered" "$work/sim.log" 2>/dev/null && break; sleep 0.5; done
sleep $((SPREAD_MS / 1000 + 20))
connected=$(ss -Htn state established "( sport = :$port )" | wc -l)
after_rss=$(rss_kib "$spid"); after_anon=$(anon_kib "$spid")
wait "$simpid" || true
report=$(grep "chargers connected" "$work/sim.log" | tail -1)
cat "$work/sim.log" | tail -3 >&2

echo
echo "commit:                  $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"
echo "chargers:                $CHARGERS (heartbeat ${HEARTBEAT}s, MeterValues of 2 connectors every ${METER}s), $connected sockets open at the sample"
echo "server RSS before/after: $before_rss / $after_rss KiB (anonymous $before_anon / $after_anon KiB)"
awk -v a="$after_rss" -v b="$before_rss" -v aa="$after_anon" -v ba="$before_anon" -v n="$connected" \
  'BEGIN {if (n > 0) printf "per connected charger:   %.2f KiB RSS, %.2f KiB anonymous\n", (a - b) / n, (aa - ba) / n}'
echo "simulator:               ${report#charger-sim: }"
