#!/usr/bin/env bash
# /health throughput against the framework-free Boost.Beast ceiling (bench/http_ceiling.cpp), same
# machine, same wrk settings, one after the other, RUNS times (min/median/max); plus idle and loaded
# RSS of motorpool. Builds what it runs.
#   bench/http_health.sh            (`make bench` runs it)
# Environment: DURATION (10s), CONNECTIONS (64), THREADS (2), RUNS (3), CEILING_MODE (bare, or stream:
# see bench/http_ceiling.cpp), CEILING_BIN (another ceiling
# server taking PORT THREADS ADDRESS, e.g. ../shared/tools/ceiling's beast_hello)
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
RUNS=${RUNS:-3}
source bench/lib.sh
bench_build motorpool http_ceiling
CEILING_BIN=${CEILING_BIN:-build/bench/http_ceiling}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

command -v wrk >/dev/null || { echo "wrk missing: run scripts/bootstrap" >&2; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 100); do curl -sf "http://127.0.0.1:$1$2" >/dev/null && return 0; sleep 0.1; done; return 1; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
anon_kib() { awk '/RssAnon/ {print $2}' "/proc/$1/status"; }  # private memory: heap, stacks
run_wrk() { wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$1" | tee "$work/wrk.txt" >&2;
            awk '/Requests\/sec/ {print $2}' "$work/wrk.txt"; }

median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
summary() { sort -n | awk '{v[NR] = $1} END {printf "%.0f / %.0f / %.0f", v[1], v[int((NR + 1) / 2)], v[NR]}'; }
: >"$work/ceiling.rps"
: >"$work/motorpool.rps"
for run in $(seq "$RUNS"); do
  echo "== run $run of $RUNS: ceiling ($CEILING_BIN)" >&2
  cport=$(free_port)
  "$CEILING_BIN" "$cport" 2 127.0.0.1 ${CEILING_MODE:-bare} >/dev/null 2>&1 & cpid=$!
  pids+=($cpid)
  wait_http "$cport" /
  run_wrk "http://127.0.0.1:$cport/" >>"$work/ceiling.rps"
  kill "$cpid"; wait "$cpid" 2>/dev/null || true

  echo "== run $run of $RUNS: motorpool /health" >&2
  rm -f "$work"/bench.db*
  mport=$(free_port)
  (cd "$work" && DATABASE_URL="sqlite:///$work/bench.db" PORT=$mport MOTORPOOL_HOST=127.0.0.1 \
     MOTORPOOL_LOG_LEVEL=${MOTORPOOL_LOG_LEVEL:-info} exec "$OLDPWD/build/motorpool" serve >"$work/server.log" 2>&1) &
  spid=$!
  pids+=($spid)
  wait_http "$mport" /health
  mpid=$(pgrep -f "build/motorpool serve" -n)
  sleep 1
  idle_rss=$(rss_kib "$mpid")
  idle_anon=$(anon_kib "$mpid")
  run_wrk "http://127.0.0.1:$mport/health" >>"$work/motorpool.rps"
  loaded_rss=$(rss_kib "$mpid")
  loaded_anon=$(anon_kib "$mpid")
  kill "$spid"; wait "$spid" 2>/dev/null || true
  awk -v m="$(tail -1 "$work/motorpool.rps")" -v c="$(tail -1 "$work/ceiling.rps")" \
    'BEGIN {printf "run ratio: %.1f %%\n", m / c * 100}' >&2
done

ceiling_median=$(median <"$work/ceiling.rps")
motorpool_median=$(median <"$work/motorpool.rps")
echo
echo "commit:                 $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"
echo "ceiling req/s:          $(summary <"$work/ceiling.rps") (min / median / max of $RUNS)"
echo "motorpool /health:      $(summary <"$work/motorpool.rps")"
awk -v m="$motorpool_median" -v c="$ceiling_median" 'BEGIN {printf "ratio of the medians:   %.1f %% of the ceiling\n", m / c * 100}'
echo "motorpool RSS idle:     $idle_rss KiB, of which anonymous $idle_anon KiB (last run)"
echo "motorpool RSS loaded:   $loaded_rss KiB, of which anonymous $loaded_anon KiB"
