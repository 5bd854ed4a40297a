#!/usr/bin/env bash
# Support chat: replies per second over REST, each committed and delivered as a MESSAGE frame to the
# member's socket (1,000 members connected, one thread each) and to a support inbox socket, with the
# delay from the message's created_at (before its commit) to receipt: p50, p99, max.
#   bench/chat.sh                              (SQLite; builds what it runs)
#   scripts/with-postgres bench/chat.sh        (PostgreSQL too; test settings: no fsync)
# Environment: MEMBERS (1000), MESSAGES (20000), SENDERS (8)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
bench_build motorpool chat_bench
MEMBERS=${MEMBERS:-1000}
MESSAGES=${MESSAGES:-20000}
SENDERS=${SENDERS:-8}
ulimit -n "$(ulimit -Hn)"
work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

run() {  # run LABEL DATABASE_URL
  echo "== $1: $MEMBERS members connected, $MESSAGES replies from $SENDERS support connections"
  export DATABASE_URL="$2"
  echo bench-password-1 | build/motorpool users create --email support@chat.bench --role support --password-stdin >/dev/null
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  PORT=$port MOTORPOOL_HOST=127.0.0.1 build/motorpool serve >"$work/server.log" 2>&1 & pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
  token=$(curl -sf "http://127.0.0.1:$port/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d '{"email":"support@chat.bench","password":"bench-password-1"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  build/bench/chat_bench "$port" "$token" "$MEMBERS" "$MESSAGES" "$SENDERS"
  echo "   server RSS $(awk '/VmRSS/ {print $2}' "/proc/$pid/status") KiB"
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
}

export MOTORPOOL_LOG_LEVEL=warn MOTORPOOL_ENV=test SECRET_KEY=bench-secret-key-0123456789abcdef \
  MOTORPOOL_FILES_DIR="$work/files" MOTORPOOL_MAX_CONNECTIONS=100000
run SQLite "sqlite:///$work/chat.db"
if [ -n "${MOTORPOOL_TEST_PG_URL:-}" ]; then
  PGOPTIONS=--client-min-messages=warning psql "$MOTORPOOL_TEST_PG_URL" -qc "DROP DATABASE IF EXISTS motorpool_chat_bench" -c "CREATE DATABASE motorpool_chat_bench" >/dev/null
  run PostgreSQL "${MOTORPOOL_TEST_PG_URL%/*}/motorpool_chat_bench"
fi
