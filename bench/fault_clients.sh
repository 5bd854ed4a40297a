#!/usr/bin/env bash
# Faults under load, part 2 (issue 22): a storm of hostile clients against a running server while a
# well-behaved client measures its latency. Loopback only, about a minute, no build (it runs a copy
# of build/motorpool). Phases, each with the good client (paced wrk on /health and on an
# authenticated GET) running throughout:
#   (a) 10,000 TCP connections opened and dropped: before sending anything (FIN or RST), mid request
#       line, mid body, after a whole request without reading the answer, mid response;
#   (b) slow-loris on every route class (a header or a declared body trickled one byte per second):
#       each must be closed at MOTORPOOL_READ_TIMEOUT (set to READ_TIMEOUT here), plus MASS at once;
#       and a connection that never sends a byte, closed at MOTORPOOL_IDLE_TIMEOUT (IDLE_TIMEOUT here);
#   (c) WebSocket subscribers of a busy topic that never read: dropped, server memory bounded.
# Then: the server's descriptors back near their baseline, no error in its log, still serving.
#   bench/fault_clients.sh
# Environment: READ_TIMEOUT (5), IDLE_TIMEOUT (8), CONNECTIONS (10000), STORM_CONCURRENCY (1000), MASS (300),
#   WS_SLOW (40), WS_RATE (400/s), MOTORPOOL_BIN (/tmp/motorpool-fault-cli, copied from build/motorpool)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
READ_TIMEOUT=${READ_TIMEOUT:-5}
IDLE_TIMEOUT=${IDLE_TIMEOUT:-8}  # keep-alive wait, also what a connection that never sends a byte gets
MARGIN=2  # seconds past the read timeout a slow client may stay connected (timer + a busy 2-core box)
CONNECTIONS=${CONNECTIONS:-10000}
MASS=${MASS:-300}
WS_SLOW=${WS_SLOW:-40}
WS_RATE=${WS_RATE:-400}
STORM_CONCURRENCY=${STORM_CONCURRENCY:-1000}  # storm connections open at once
WS_QUEUE=1024  # HubOptions::max_queued_frames
BIN=${MOTORPOOL_BIN:-/tmp/motorpool-fault-cli}
# The good client's bound, per route and phase: p99 under 10x its baseline p99, or under 50 ms,
# whichever is larger. 10x: handling the attackers costs the server some CPU, but a good request
# must not queue behind hostile connections (a server that did, blocking an I/O thread on a slow
# peer or running out of connections, shows seconds, wrk timeouts or errors). 50 ms: the baseline
# p99 is 1-5 ms here, and 10x of that is within the scheduling noise of a shared 2-core machine
# where the attackers, wrk and other users' jobs compete with the server for the CPU (the summary
# shows the CPU pressure of each phase); 50 ms is still far below anything a user would notice.
FLOOR_US=50000
FACTOR=10

[ -x build/motorpool ] || { echo "bench: build/motorpool is missing (cmake --build build --target motorpool)" >&2; exit 1; }
cp build/motorpool "$BIN.$$" && mv -f "$BIN.$$" "$BIN"  # a rename: a copy already running is not disturbed
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
work=$(mktemp -d /tmp/fault-clients.XXXXXX)
pid=""
wrk_pids=()
cleanup() {
  for p in "${wrk_pids[@]}"; do kill "$p" 2>/dev/null; done
  [ -n "$pid" ] && kill "$pid" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
results="$work/results"
: >"$results"
check() {  # check OK NAME DETAIL
  local verdict=FAIL
  [ "$1" = 1 ] && verdict=PASS
  echo "$verdict $2: $3" | tee -a "$results"
}
# The attackers run at a lower priority: they stand for remote machines, whose CPU the server does
# not share; the server's own work for them is still at its normal priority.
helper() {  # each phase bounded: 150 s at most
  timeout 150 nice -n 10 python3 bench/fault_clients.py "$@" | tee -a "$results"
  local rc=${PIPESTATUS[0]}
  [ "$rc" = 0 ] || check 0 "helper.$1" "bench/fault_clients.py $1 exited with status $rc (124: timed out)"
}
psi() { awk '/^some/ {sub("total=", "", $5); print $5}' /proc/pressure/cpu 2>/dev/null || echo 0; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
mkdir -p "$work/tmp" "$work/files"
env MOTORPOOL_ENV=test SECRET_KEY=fault-secret-key-0123456789abcdef DATABASE_URL="sqlite:///$work/fault.db" \
  MOTORPOOL_SQLITE_SYNCHRONOUS=NORMAL PORT="$port" MOTORPOOL_HOST=127.0.0.1 MOTORPOOL_LOG_LEVEL=warn \
  MOTORPOOL_READ_TIMEOUT="${READ_TIMEOUT}s" MOTORPOOL_IDLE_TIMEOUT="${IDLE_TIMEOUT}s" MOTORPOOL_ACCESS_TOKEN_TTL=1h \
  MOTORPOOL_WS_MAX_SOCKETS_PER_USER=200 MOTORPOOL_FILES_DIR="$work/files" MOTORPOOL_FILES_PRESIGNS_PER_MINUTE=100 \
  TMPDIR="$work/tmp" \
  "$BIN" serve >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -sf "$base/health" >/dev/null && break; sleep 0.1; done
curl -sf "$base/health" >/dev/null || { echo "FAIL server did not start"; cat "$work/server.log"; exit 1; }
token=$(curl -sf "$base/api/v1/auth/register" -H 'Content-Type: application/json' \
  -d '{"name":"Fault Tester","email":"fault@example.com","password":"fault-password-1"}' | jq -r .access_token)
vin=5YJZ1MPX5MA000000
vehicle=$(curl -sf "$base/api/v1/vehicles" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d "{\"vin\":\"$vin\",\"make\":\"Tesla\",\"model\":\"Model 3\"}" | jq -r .id)
[ -n "$vehicle" ] && [ "$vehicle" != null ] || { echo "FAIL setup: no vehicle"; exit 1; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }
fds() { ls "/proc/$pid/fd" | wc -l; }
open_connections() { curl -sf "$base/metrics" | awk '$1 == "motorpool_http_connections_open" {print $2}'; }
settle() {  # until the server holds no connection but the metrics request (the good client just left)
  for _ in $(seq 50); do [ "$(open_connections)" = 1 ] && return; sleep 0.2; done
}

# The good client: wrk paced by delay() (4 connections, 10 ms between a connection's requests, so
# about 400 requests/s per route: a client, not a load test), stopped with SIGINT at a phase's end.
cat >"$work/good.lua" <<'LUA'
local token = os.getenv("GOOD_TOKEN")
if token ~= nil and token ~= "" then wrk.headers["Authorization"] = "Bearer " .. token end
function delay() return 10 end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("GOOD requests=%d p50_us=%d p99_us=%d max_us=%d non2xx=%d errors=%d\n",
    summary.requests, latency:percentile(50), latency:percentile(99), latency.max, e.status,
    e.connect + e.read + e.write + e.timeout))
end
LUA
good_start() {  # good_start PHASE
  GOOD_TOKEN="" wrk -t1 -c4 -d300s --latency -s "$work/good.lua" "$base/health" >"$work/good-$1-health.txt" 2>&1 &
  wrk_pids=($!)
  GOOD_TOKEN="$token" wrk -t1 -c4 -d300s --latency -s "$work/good.lua" "$base/api/v1/vehicles" >"$work/good-$1-get.txt" 2>&1 &
  wrk_pids+=($!)
  sleep 1
  psi_start=$(psi) phase_start=$(date +%s%N)
}
good_stop() {
  # Share of the phase during which some task of the machine waited for a CPU (Linux PSI): the
  # contention the good client's figures include (other users of this shared machine count too).
  pressure=$(( ($(psi) - psi_start) * 100000 / ($(date +%s%N) - phase_start) ))  # percent
  for p in "${wrk_pids[@]}"; do kill -INT "$p" 2>/dev/null; done
  for p in "${wrk_pids[@]}"; do wait "$p" 2>/dev/null; done
  wrk_pids=()
}
field() { sed -n "s/.*[ ]$2=\([0-9]*\).*/\1/p" "$1"; }  # field FILE NAME
declare -A base_p99
good_report() {  # good_report PHASE
  for route in health get; do
    local f="$work/good-$1-$route.txt" label
    [ "$route" = health ] && label="GET /health" || label="GET /api/v1/vehicles (bearer)"
    local n p50 p99 max non2xx errors
    n=$(field "$f" requests); p50=$(field "$f" p50_us); p99=$(field "$f" p99_us); max=$(field "$f" max_us)
    non2xx=$(field "$f" non2xx); errors=$(field "$f" errors)
    if [ -z "$n" ]; then check 0 "good.$1.$route" "wrk printed no result: $(tail -3 "$f")"; continue; fi
    local figures="$n requests, p50 $((p50 / 1000)).$(((p50 % 1000) / 100)) ms, p99 $((p99 / 1000)).$(((p99 % 1000) / 100)) ms, max $((max / 1000)) ms"
    echo "GOOD $1 $route requests=$n p50_us=$p50 p99_us=$p99 max_us=$max non2xx=$non2xx errors=$errors cpu_pressure=$pressure%" >>"$work/figures"
    if [ "$1" = baseline ]; then
      base_p99[$route]=$p99
      check "$([ "$n" -gt 0 ] && [ "$non2xx" = 0 ] && [ "$errors" = 0 ] && echo 1 || echo 0)" "good.baseline.$route" \
        "$label: $figures; non-2xx $non2xx, socket errors $errors"
    else
      local bound=$((FACTOR * base_p99[$route]))
      [ "$bound" -lt "$FLOOR_US" ] && bound=$FLOOR_US
      check "$([ "$n" -gt 0 ] && [ "$p99" -le "$bound" ] && echo 1 || echo 0)" "good.$1.$route.p99" \
        "$label: $figures; p99 bound $((bound / 1000)) ms (max of ${FACTOR}x baseline p99 $((base_p99[$route] / 1000)).$(((base_p99[$route] % 1000) / 100)) ms, $((FLOOR_US / 1000)) ms)"
      check "$([ "$non2xx" = 0 ] && [ "$errors" = 0 ] && echo 1 || echo 0)" "good.$1.$route.no_failures" \
        "$label: non-2xx $non2xx, socket errors (connect/read/write/timeout) $errors"
    fi
  done
}

echo "== server pid $pid on port $port, read timeout ${READ_TIMEOUT}s, $(nproc) cores"
echo "== baseline: the good client alone for 10 s"
good_start baseline
sleep 10
good_stop
good_report baseline
settle
fd_base=$(fds)
rss_base=$(rss)
echo "   server: $fd_base descriptors, RSS $rss_base KiB"

echo "== (a) $CONNECTIONS connections opened and dropped, $STORM_CONCURRENCY at a time"
good_start storm
t0=$(date +%s)
helper storm "$port" "$token" "$CONNECTIONS" "$STORM_CONCURRENCY"
good_stop
good_report storm
echo "   server: $(fds) descriptors, RSS $(rss) KiB"

echo "== (b) slow-loris: every route class, and $MASS at once"
good_start slowloris
helper slowloris "$port" "$token" "$READ_TIMEOUT" "$IDLE_TIMEOUT" "$MARGIN" "$MASS" "$vin"
good_stop
good_report slowloris
leftover=$(find "$work/files" "$work/tmp" -type f | wc -l)
check "$([ "$leftover" = 0 ] && echo 1 || echo 0)" slowloris.no_leftovers "$leftover partial upload or spool files left in MOTORPOOL_FILES_DIR and TMPDIR"
echo "   server: $(fds) descriptors, RSS $(rss) KiB"

echo "== (c) $WS_SLOW WebSocket subscribers that never read, the topic at $WS_RATE frames/s"
good_start ws
helper wsflood "$port" "$token" "$pid" "$vehicle" "$vin" "$WS_SLOW" "$WS_RATE" 60 "$WS_QUEUE"
good_stop
good_report ws
t1=$(date +%s)

echo "== after the storm"
settle  # closing handshakes end within a second or two
open=$(open_connections)
check "$([ "${open:-99}" -le 1 ] && echo 1 || echo 0)" connections.closed "connections the server holds open: ${open:-?} (the metrics request itself: 1)"
fd_end=$(fds)
check "$([ "$fd_end" -le $((fd_base + 4)) ] && echo 1 || echo 0)" fds.back_to_baseline "server descriptors $fd_base before, $fd_end after (bound +4)"
alive=0
kill -0 "$pid" 2>/dev/null && [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$base/api/v1/me")" = 200 ] && alive=1
check $alive server.alive "same process (pid $pid) still answers GET /api/v1/me"
errors=$(grep -cE '^[^ ]+ (error|critical) ' "$work/server.log")
check "$([ "$errors" = 0 ] && echo 1 || echo 0)" server.log "$errors error/critical lines in the server log ($(grep -cE '^[^ ]+ warning ' "$work/server.log") warnings)"
[ "$errors" = 0 ] || grep -E '^[^ ]+ (error|critical) ' "$work/server.log" | sort | uniq -c | sort -rn | head -5

echo "== summary"
awk '/^GOOD/ {printf "   good client, %-9s %-6s %6d requests  p50 %6.2f ms  p99 %6.2f ms  max %6.1f ms  non-2xx %s  errors %s  (CPU pressure %s)\n",
  $2, $3, substr($4, 10), substr($5, 8) / 1000, substr($6, 8) / 1000, substr($7, 8) / 1000, substr($8, 8), substr($9, 8), substr($10, 14)}' "$work/figures"
grep '^FIGURES' "$results" | sed 's/^FIGURES /   /'
echo "   server RSS: $rss_base KiB at baseline, $(rss) KiB at the end; descriptors $fd_base -> $fd_end; phases (a)-(c) took $((t1 - t0)) s"
fails=$(grep -c '^FAIL' "$results")
passes=$(grep -c '^PASS' "$results")
echo "== $passes passed, $fails failed"
[ "$fails" = 0 ]
