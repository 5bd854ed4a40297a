#!/usr/bin/env bash
# /health throughput against the framework-free Boost.Beast ceiling (../shared/tools/ceiling),
# same machine, same wrk settings, one after the other; plus idle and loaded RSS of motorpool.
#   bench/http_health.sh            (after `make build`; `make bench` does both)
# Environment: DURATION (10s), CONNECTIONS (64), THREADS (2), CEILING_DIR (../shared/tools/ceiling)
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
CEILING_DIR=${CEILING_DIR:-../shared/tools/ceiling}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

command -v wrk >/dev/null || { echo "wrk missing: run scripts/bootstrap" >&2; exit 1; }
[ -x build/motorpool ] || { echo "build/motorpool missing: run make build" >&2; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 100); do curl -sf "http://127.0.0.1:$1$2" >/dev/null && return 0; sleep 0.1; done; return 1; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
run_wrk() { wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$1" | tee "$work/wrk.txt" >&2;
            awk '/Requests\/sec/ {print $2}' "$work/wrk.txt"; }

echo "== ceiling: beast_hello" >&2
if [ -f "$CEILING_DIR/build.sh" ]; then
  sh "$CEILING_DIR/build.sh" "$work/ceiling" >/dev/null
  cport=$(free_port)
  "$work/ceiling/beast_hello" "$cport" 2 127.0.0.1 >/dev/null 2>&1 & pids+=($!)
  wait_http "$cport" /
  ceiling_rps=$(run_wrk "http://127.0.0.1:$cport/")
  kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
else
  ceiling_rps=""
  echo "ceiling sources not found at $CEILING_DIR; skipping" >&2
fi

echo "== motorpool /health" >&2
mport=$(free_port)
(cd "$work" && DATABASE_URL="sqlite:///$work/bench.db" PORT=$mport MOTORPOOL_HOST=127.0.0.1 \
   MOTORPOOL_LOG_LEVEL=${MOTORPOOL_LOG_LEVEL:-info} exec "$OLDPWD/build/motorpool" serve >"$work/server.log" 2>&1) &
pids+=($!)
wait_http "$mport" /health
mpid=$(pgrep -f "build/motorpool serve" -n)
sleep 1
idle_rss=$(rss_kib "$mpid")
motorpool_rps=$(run_wrk "http://127.0.0.1:$mport/health")
loaded_rss=$(rss_kib "$mpid")

echo
echo "ceiling (beast_hello):  ${ceiling_rps:-n/a} req/s"
echo "motorpool /health:      $motorpool_rps req/s"
if [ -n "$ceiling_rps" ]; then
  python3 -c "print(f'ratio:                  {float($motorpool_rps)/float($ceiling_rps)*100:.1f} % of the ceiling')"
fi
echo "motorpool RSS idle:     $idle_rss KiB"
echo "motorpool RSS loaded:   $loaded_rss KiB"
