#!/usr/bin/env bash
# WebSocket hub: server memory per idle authenticated socket at 10,000 sockets, and the delay from
# ingest commit to frame receipt at 1,000 subscribers of one vehicle.
#   bench/ws.sh            (builds what it runs)
# Environment: SOCKETS (10000), SUBSCRIBERS (1000), UPLOADS (50)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
bench_build motorpool ws_bench
SOCKETS=${SOCKETS:-10000}
SUBSCRIBERS=${SUBSCRIBERS:-1000}
UPLOADS=${UPLOADS:-50}
ulimit -n "$(ulimit -Hn)"  # each process needs a descriptor per socket
work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
export MOTORPOOL_LOG_LEVEL=warn MOTORPOOL_ENV=test SECRET_KEY=bench-secret-key-0123456789abcdef \
  DATABASE_URL="sqlite:///$work/ws.db" MOTORPOOL_WS_MAX_SOCKETS_PER_USER=100000 MOTORPOOL_MAX_CONNECTIONS=100000
echo bench-password-1 | build/motorpool users create --email bench@motorpool.local --password-stdin >/dev/null
build/bench/vehicles_gen 1 >"$work/v.csv"
build/motorpool import vehicles "$work/v.csv" --owner bench@motorpool.local >/dev/null 2>&1
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
PORT=$port MOTORPOOL_HOST=127.0.0.1 build/motorpool serve >"$work/server.log" 2>&1 & pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
token=$(curl -sf "http://127.0.0.1:$port/api/v1/auth/login" -H 'Content-Type: application/json' \
  -d '{"email":"bench@motorpool.local","password":"bench-password-1"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
vehicle=$(curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/v1/vehicles" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')
rss() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }

echo "== $SOCKETS idle authenticated sockets"
before=$(rss)
mkfifo "$work/hold"
build/bench/ws_bench idle "$port" "$token" "$SOCKETS" <"$work/hold" >"$work/idle.txt" & bench=$!
exec 3>"$work/hold"
for _ in $(seq 600); do grep -q "^open" "$work/idle.txt" 2>/dev/null && break; sleep 0.1; done
sleep 1
after=$(rss)
cat "$work/idle.txt"
open=$(awk '/^open/ {print $2}' "$work/idle.txt")
echo "   server RSS $before KiB before, $after KiB with the sockets: $(( (after - before) * 1024 / open )) bytes per socket"
exec 3>&-
wait "$bench"

echo "== $SUBSCRIBERS subscribers of one vehicle, $UPLOADS uploads"
build/bench/ws_bench latency "$port" "$token" "$SUBSCRIBERS" "$vehicle" "$UPLOADS"
