#!/usr/bin/env bash
# Logins per second over HTTP (Argon2id-bound) and the token micro-benchmarks.
#   bench/auth_login.sh        (builds what it runs)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
bench_build motorpool auth_bench
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export DATABASE_URL="sqlite:///$work/bench.db" PORT=$port MOTORPOOL_HOST=127.0.0.1 MOTORPOOL_LOG_LEVEL=warn MOTORPOOL_ENV=test
echo "bench-password-1" | build/motorpool users create --email bench@motorpool.local --password-stdin >/dev/null
build/motorpool serve >"$work/server.log" 2>&1 & pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
wrk -t2 -c16 -d10s --latency -s bench/login.lua "http://127.0.0.1:$port/api/v1/auth/login"
build/bench/auth_bench --benchmark_min_time=0.3
