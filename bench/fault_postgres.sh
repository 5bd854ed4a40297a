#!/usr/bin/env bash
# Faults under load, part 1 (issue 22): PostgreSQL stopped and restarted while telemetry batches
# (POST /api/v1/vehicles/{id}/telemetry) and signed Smartcar webhook deliveries (POST
# /webhooks/smartcar) stream in, directly and through a transaction-pooling PgBouncer, with a clean
# stop (pg_ctl -m fast) and a crash (pg_ctl -m immediate) each: four scenarios. Checks, per scenario
# and per kind of request (PASS/FAIL lines, a summary, exit 1 if any fails):
#   - every request sent while PostgreSQL was down and answered before it returned got 503 with
#     Retry-After (at least 5 of them, so the check cannot pass empty); every answer of the run is
#     2xx or 503 + Retry-After, and comes within 10 s (no hang, no 500);
#   - the server reconnects by itself: its first 2xx comes within 5 s of PostgreSQL accepting
#     connections again (the time PostgreSQL logs "ready to accept connections"), and every request
#     sent from 5 s after that succeeds;
#   - every acknowledged (2xx) batch and delivery is in the database, counted there with psql
#     against the ids the client recorded (each batch's 30 history rows; each delivery's eventId),
#     and the webhook processor (a thread of its own) catches up without a restart.
# PostgreSQL runs durable (fsync, synchronous_commit, full_page_writes on: checked), on loopback, in a
# throwaway directory. The script starts and stops its own PostgreSQL and PgBouncer (modelled on
# scripts/with-postgres), since it stops PostgreSQL in the middle; the server is a copy of
# build/motorpool (Release) at /tmp/motorpool-fault-pg, so that other builds do not disturb it.
# Bounded: a watchdog ends the script after BUDGET_S (285 s); a run takes about two minutes.
#   bench/fault_postgres.sh
# Environment: OUTAGE_S (8), WARMUP_S (3), AFTER_S (8), TARGETS ("direct bouncer"), KEEP=1 (keep the
# directory: logs, request records), PGBOUNCER_DEFAULTS=1 (PgBouncer without the two failover
# settings below: shows what its defaults do; the checks are then expected to fail).
# Helper: bench/fault_postgres.py (load generator and checks; Python standard library only).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
repo=$(pwd)
helper="$repo/bench/fault_postgres.py"
BIN=/tmp/motorpool-fault-pg
WARMUP_S=${WARMUP_S:-3}   # load before the stop
OUTAGE_S=${OUTAGE_S:-8}   # PostgreSQL down (stopped to started)
AFTER_S=${AFTER_S:-8}     # load after PostgreSQL is back (the checks need 5 s + a few requests)
BUDGET_S=${BUDGET_S:-285} # the whole script, hard bound
AMT=fault-amt

[ -x build/motorpool ] || { echo "FAIL: build/motorpool not found (cmake --build build --target motorpool)"; exit 1; }
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$bindir/initdb" ] || { echo "FAIL: PostgreSQL server binaries not found; run scripts/bootstrap"; exit 1; }
pgbouncer_bin=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
[ -x "$pgbouncer_bin" ] || { echo "FAIL: pgbouncer not found; run scripts/bootstrap"; exit 1; }
for tool in psql pg_isready python3 curl; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool not found"; exit 1; }
done
cp build/motorpool "$BIN.new" && mv -f "$BIN.new" "$BIN"  # other builds may replace build/motorpool meanwhile

dir=$(mktemp -d /tmp/motorpool-fault-pg.XXXXXX)
chmod 755 "$dir"
as_owner=()
if [ "$(id -u)" -eq 0 ]; then  # PostgreSQL and PgBouncer refuse to run as root
  chown postgres:postgres "$dir"
  as_owner=(runuser -u postgres --)
fi
server_pid=""
load_pid=""
watchdog=""
cleanup() {
  [ -n "$watchdog" ] && kill "$watchdog" 2>/dev/null
  [ -n "$load_pid" ] && kill "$load_pid" 2>/dev/null
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  [ -f "$dir/pgbouncer.pid" ] && kill "$(cat "$dir/pgbouncer.pid")" 2>/dev/null
  [ -f "$dir/data/postmaster.pid" ] && "${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1
  if [ -n "${KEEP:-}" ]; then echo "kept $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT
trap 'echo "FAIL: interrupted or over the time bound (${BUDGET_S} s)"; exit 1' INT TERM
# The watchdog: its sleep ends with it, so nothing of the script outlives the script.
( trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM; sleep "$BUDGET_S" & sleeper=$!; wait "$sleeper" && kill -TERM $$ ) 2>/dev/null &
watchdog=$!

ms() { date +%s%3N; }
t_script=$(ms)
port_free() { ! (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
  local p
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 40000))
    port_free "$p" && { echo "$p"; return 0; }
  done
  return 1
}

# ---- PostgreSQL (durable: PostgreSQL's defaults) and PgBouncer ----
"${as_owner[@]}" "$bindir/initdb" -D "$dir/data" -A trust -U motorpool -E UTF8 >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log"; echo "FAIL: initdb"; exit 1; }
pg_port=$(pick_port)
pg_opts="-c listen_addresses=127.0.0.1 -p $pg_port -k $dir -c max_connections=300 -c log_timezone=UTC"
pg_start() {  # no -w: the script watches for "ready" itself
  "${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -o "$pg_opts" start >/dev/null 2>&1
}
pg_start
for _ in $(seq 300); do pg_isready -q -h 127.0.0.1 -p "$pg_port" -t 1 && break; sleep 0.1; done
pg_isready -q -h 127.0.0.1 -p "$pg_port" || { cat "$dir/postgres.log"; echo "FAIL: PostgreSQL did not start"; exit 1; }
pg_url="postgresql://motorpool@127.0.0.1:$pg_port"
fsync=$(psql "$pg_url/postgres" -XAtc "SELECT current_setting('fsync') || ',' || current_setting('synchronous_commit') || ',' || current_setting('full_page_writes')")
[ "$fsync" = "on,on,on" ] || { echo "FAIL: PostgreSQL is not durable (fsync,synchronous_commit,full_page_writes = $fsync)"; exit 1; }
psql "$pg_url/postgres" -Xq -c "CREATE DATABASE fault_direct" -c "CREATE DATABASE fault_bouncer" || exit 1

bouncer_port=$(pick_port)
printf '"motorpool" ""\n' >"$dir/userlist.txt"
# As scripts/with-postgres, plus two failover settings that a PgBouncer in front of motorpool needs
# (docs/performance.md): server_login_retry (default 15 s) is how long PgBouncer waits, after
# failing to reach PostgreSQL, before it tries again, refusing every login meanwhile: with it no
# client can be served until up to 15 s after PostgreSQL is back. query_wait_timeout (default
# 120 s) is how long a query may wait in PgBouncer for a server connection: a statement sent while
# PostgreSQL is down waits that long before anyone hears of it (libpq has no timeout of its own).
failover=$'server_login_retry = 1\nquery_wait_timeout = 5'
[ -n "${PGBOUNCER_DEFAULTS:-}" ] && failover="; PGBOUNCER_DEFAULTS: server_login_retry and query_wait_timeout left at their defaults"
cat >"$dir/pgbouncer.ini" <<INI
[databases]
* = host=127.0.0.1 port=$pg_port

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $bouncer_port
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = transaction
max_client_conn = 500
default_pool_size = 20
ignore_startup_parameters = extra_float_digits,options
server_reset_query =
$failover
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
chown "$(stat -c %U "$dir")" "$dir/pgbouncer.ini" "$dir/userlist.txt"
"${as_owner[@]}" "$pgbouncer_bin" -d "$dir/pgbouncer.ini" >/dev/null 2>&1 || { echo "FAIL: PgBouncer did not start"; exit 1; }
for _ in $(seq 50); do port_free "$bouncer_port" || break; sleep 0.1; done
bouncer_url="postgresql://motorpool@127.0.0.1:$bouncer_port"
psql "$bouncer_url/fault_bouncer" -XAtc "SELECT 1" >/dev/null || { cat "$dir/pgbouncer.log"; echo "FAIL: PgBouncer does not answer"; exit 1; }
echo "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') durable (fsync, synchronous_commit, full_page_writes on) on 127.0.0.1:$pg_port; PgBouncer $("$pgbouncer_bin" --version | awk 'NR==1{print $2}') (transaction pooling) on 127.0.0.1:$bouncer_port"

# ---- the server ----
export MOTORPOOL_ENV=test MOTORPOOL_LOG_LEVEL=info SECRET_KEY=fault-secret-key-0123456789abcdef \
  MOTORPOOL_ENCRYPTION_KEY=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8= SMARTCAR_MANAGEMENT_TOKEN=$AMT \
  SMARTCAR_CLIENT_ID=fault-client SMARTCAR_CLIENT_SECRET=fault-secret SMARTCAR_SIM_WEBHOOK_URL=off \
  MOTORPOOL_HOST=127.0.0.1 MOTORPOOL_SECRETS_FILE="$dir/secrets" MOTORPOOL_FILES_DIR="$dir/files"
serve() {  # serve NAME DATABASE_URL [env...]
  local name=$1 url=$2; shift 2
  port=$(pick_port)
  env DATABASE_URL="$url" PORT="$port" "$@" "$BIN" serve >"$dir/server-$name.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 300); do curl -sf "http://127.0.0.1:$port/ready" >/dev/null && return 0; sleep 0.1; done
  tail -n 20 "$dir/server-$name.log"
  echo "FAIL: $name: the server did not become ready"
  exit 1
}
pg_log_ms() {  # pg_log_ms FROM_LINE PATTERN: epoch ms of the first matching log line after FROM_LINE
  local line
  line=$(tail -n +"$(($1 + 1))" "$dir/postgres.log" | grep -m1 "$2") || return 1
  date -u -d "$(echo "$line" | awk '{print $1" "$2}')" +%s%3N
}

failures=0
stopped_cleanly() {  # stopped_cleanly NAME STATUS: after every fault, SIGTERM still ends the server in order
  if [ "$2" -eq 0 ]; then
    echo "PASS  $1: the server survived the faults and stopped cleanly on SIGTERM (exit 0)"
  else
    echo "FAIL  $1: the server exited $2 on SIGTERM"
    failures=$((failures + 1))
  fi
}
scenario=0
t_base=$(( $(ms) - 10 * 86400000 ))  # telemetry sample times: 10 days ago onwards, a range per batch
run_scenario() {  # run_scenario LABEL DB_URL_FOR_CHECKS MODE
  local label=$1 db=$2 mode=$3 events="$dir/$1.events" log="$dir/$1.jsonl" stopfile="$dir/$1.stop"
  scenario=$((scenario + 1))
  echo "== $label: $WARMUP_S s of load, PostgreSQL stopped (-m $mode) for $OUTAGE_S s, then $AFTER_S s more"
  python3 "$helper" load --base "http://127.0.0.1:$port" --state "$dir/state.json" --amt "$AMT" \
    --scenario "$scenario" --t-base "$t_base" --stop-file "$stopfile" --out "$log" &
  load_pid=$!
  sleep "$WARMUP_S"
  echo "stop_issued $(ms)" >"$events"
  "${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -m "$mode" -w -t 60 stop >/dev/null
  echo "down $(ms)" >>"$events"
  sleep "$OUTAGE_S"
  local lines; lines=$(wc -l <"$dir/postgres.log")
  echo "start_issued $(ms)" >>"$events"
  pg_start
  local seen=""
  for _ in $(seq 600); do
    if pg_isready -q -h 127.0.0.1 -p "$pg_port" -t 1; then seen=$(ms); break; fi
    sleep 0.02
  done
  [ -n "$seen" ] || { echo "FAIL: $label: PostgreSQL did not come back"; tail -n 20 "$dir/postgres.log"; exit 1; }
  local ready; ready=$(pg_log_ms "$lines" "ready to accept connections") || ready=$seen
  echo "ready $ready" >>"$events"
  echo "ready_polled $seen" >>"$events"
  sleep "$AFTER_S"
  touch "$stopfile"
  wait "$load_pid"
  load_pid=""
  kill -0 "$server_pid" 2>/dev/null || { echo "FAIL: $label: the server died"; tail -n 20 "$dir/server-${label%%-*}.log"; exit 1; }
  python3 "$helper" check --log "$log" --events "$events" --db "$db" --label "$label" --scenario "$scenario" \
    --summary "$dir/summary.jsonl" || failures=$((failures + 1))
}

run_target() {  # run_target NAME DATABASE_URL(server) DATABASE_URL(checks, direct) [server env...]
  local name=$1 url=$2 db=$3 status; shift 3
  serve "$name" "$url" "$@"
  python3 "$helper" setup --base "http://127.0.0.1:$port" --out "$dir/state.json" || { echo "FAIL: $name: setup"; exit 1; }
  run_scenario "$name-fast" "$db" fast
  run_scenario "$name-crash" "$db" immediate
  kill "$server_pid"
  wait "$server_pid"
  status=$?
  server_pid=""
  stopped_cleanly "$name" "$status"
}
TARGETS=${TARGETS:-direct bouncer}
# Direct: the server's pool talks to PostgreSQL itself.
[[ " $TARGETS " == *" direct "* ]] && run_target direct "$pg_url/fault_direct" "$pg_url/fault_direct"
# Through PgBouncer in transaction pooling (no prepared statements); LISTEN goes to PostgreSQL itself.
[[ " $TARGETS " == *" bouncer "* ]] && run_target bouncer "$bouncer_url/fault_bouncer" "$pg_url/fault_bouncer" \
  MOTORPOOL_PG_PREPARED_STATEMENTS=false MOTORPOOL_PG_LISTEN_URL="$pg_url/fault_bouncer"

echo
echo "== summary"
echo "   outage: from the stop command to PostgreSQL's \"ready to accept connections\" (stop: how long pg_ctl stop took);"
echo "   overlapping: answers to requests that overlapped the outage, by status; inside: of those, sent after PostgreSQL"
echo "   was down and answered before it was back (all must be 503); max ms: the slowest answer overlapping the outage;"
echo "   1st 2xx: from PostgreSQL ready to the first 2xx; acked/present: 2xx answers / found in the database;"
echo "   503+in: refused with 503 yet stored (the commit went through as the connection died: allowed, never the reverse)"
python3 "$helper" summary --summary "$dir/summary.jsonl"
echo "whole run: $(( ($(ms) - t_script) / 1000 )) s"
if [ "$failures" -eq 0 ]; then
  echo "PASS: all checks"
  exit 0
fi
echo "FAIL: $failures scenario(s) or stop(s) with failed checks"
exit 1
