#!/usr/bin/env bash
# Faults under load, part 4 (issue 22): SQLite on a small file system that fills up. Loopback only,
# well under a minute, no build (it runs a copy of build/motorpool).
#   1. A SIZE_MIB file system (tmpfs; else a loop-mounted ext4 image; else RLIMIT_FSIZE, said so)
#      holding the database and a BALLAST_MIB ballast file; `motorpool serve` on it.
#   2. WRITERS concurrent dongles ingest telemetry batches (100 samples x 3 signals, one vehicle each)
#      until the disk is full: every refusal must be a 503/507 problem+json, promptly (no hang, no
#      500, no crash); every batch answered 2xx must be stored whole, every refused one not at all.
#   3. While full: the server answers reads; PRAGMA integrity_check is ok.
#   4. The ballast is deleted: without a restart, the refused batches re-sent and new ones are
#      accepted; the rows counted with the sqlite3 CLI are exactly the acknowledged batches'.
#   5. SIGTERM: a clean stop; the database is still sound.
#   bench/fault_disk_full.sh
# Environment: FS (tmpfs | ext4 | fsize; default: the first that works), SIZE_MIB (8), BALLAST_MIB (4),
#   WRITERS (4), SYNCHRONOUS (FULL), MOTORPOOL_BIN (/tmp/motorpool-fault-cli, copied from build/motorpool)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
FS=${FS:-}
SIZE_MIB=${SIZE_MIB:-8}
BALLAST_MIB=${BALLAST_MIB:-4}
WRITERS=${WRITERS:-4}
SYNCHRONOUS=${SYNCHRONOUS:-FULL}
BIN=${MOTORPOOL_BIN:-/tmp/motorpool-fault-cli}
ROWS=300  # signal rows per batch

[ -x build/motorpool ] || { echo "bench: build/motorpool is missing (cmake --build build --target motorpool)" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "bench: the sqlite3 CLI is needed (apt-get install sqlite3)" >&2; exit 1; }
cp build/motorpool "$BIN.$$" && mv -f "$BIN.$$" "$BIN"  # a rename: a copy already running is not disturbed
work=$(mktemp -d /tmp/fault-disk.XXXXXX)
small="$work/small"
mkdir -p "$small" "$work/files" "$work/tmp"
pid=""
mounted=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null
  wait 2>/dev/null
  [ -n "$mounted" ] && umount "$small" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
results="$work/results"
: >"$results"
check() {  # check 1|0 NAME DETAIL
  local verdict=FAIL
  [ "$1" = 1 ] && verdict=PASS
  echo "$verdict $2: $3" | tee -a "$results"
}
avail_kib() { df -k --output=avail "$small" | tail -1 | tr -d ' '; }

# 1. The small file system.
method=""
if [ -z "$FS" ] || [ "$FS" = tmpfs ]; then
  if mount -t tmpfs -o "size=${SIZE_MIB}m" tmpfs "$small" 2>"$work/mount.err"; then
    mounted=1 method="tmpfs of $SIZE_MIB MiB"
  else
    echo "   tmpfs mount refused: $(cat "$work/mount.err")"
  fi
fi
if [ -z "$method" ] && { [ -z "$FS" ] || [ "$FS" = ext4 ]; }; then
  if truncate -s "${SIZE_MIB}M" "$work/fs.img" && mkfs.ext4 -q -F "$work/fs.img" 2>"$work/mount.err" &&
    mount -o loop "$work/fs.img" "$small" 2>>"$work/mount.err"; then
    mounted=1 method="ext4 on a loop device, $SIZE_MIB MiB image"
  else
    echo "   loop-mounted ext4 refused: $(tail -1 "$work/mount.err")"
  fi
fi
if [ -z "$method" ]; then
  # No mount allowed: the honest remaining model is a limit on file size (RLIMIT_FSIZE). Writes past
  # it fail with EFBIG (SIGXFSZ ignored) where a full disk gives ENOSPC; freeing space is modelled by
  # raising the limit of the running server (prlimit). Not the same errno: said in every result.
  method="RLIMIT_FSIZE ($([ "$FS" = fsize ] && echo "chosen with FS=fsize" || echo "no mount was allowed")): each file"
  method="$method capped at $((SIZE_MIB - BALLAST_MIB)) MiB (writes past it fail with EFBIG, not ENOSPC), then raised with prlimit"
fi
if [ -n "$mounted" ]; then
  head -c "$((BALLAST_MIB * 1048576))" /dev/zero >"$small/ballast"
fi
echo "== database on: $method${mounted:+; ballast ${BALLAST_MIB} MiB}; synchronous=$SYNCHRONOUS; $WRITERS writers"
db="$small/fault.db"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
(
  cd "$work" || exit 1
  if [ -z "$mounted" ]; then
    trap '' XFSZ  # inherited as ignored: a write past the limit fails with EFBIG instead of killing
    ulimit -S -f $(((SIZE_MIB - BALLAST_MIB) * 1024))  # soft: raising it back needs no privilege
  fi
  exec env MOTORPOOL_ENV=test SECRET_KEY=fault-secret-key-0123456789abcdef DATABASE_URL="sqlite:///$db" \
    MOTORPOOL_SECRETS_FILE="$work/secrets" MOTORPOOL_SQLITE_SYNCHRONOUS="$SYNCHRONOUS" PORT="$port" \
    MOTORPOOL_HOST=127.0.0.1 MOTORPOOL_LOG_LEVEL=info MOTORPOOL_ACCESS_TOKEN_TTL=1h \
    MOTORPOOL_FILES_DIR="$work/files" TMPDIR="$work/tmp" "$BIN" serve
) >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -sf "$base/health" >/dev/null && break; sleep 0.1; done
curl -sf "$base/health" >/dev/null || { echo "FAIL server did not start"; cat "$work/server.log"; exit 1; }
echo "   server pid $pid on port $port${mounted:+; $(avail_kib) KiB free on the small file system (the database migrated)}"

# The dongles: one vehicle each, batches with times no other batch uses, on keep-alive connections.
cat >"$work/ingest.py" <<'PY'
import http.client, json, sys, threading, time
port, token, phase, out = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
vins = sys.argv[5].split(",")
# Batch times from 20 days ago on (every batch's times its own, all in the past).
state = json.load(open(out)) if phase != "fill" else {"batches": [], "t0": int(time.time() * 1000) - 20 * 86_400_000}
T0 = state["t0"]

def payload(t0, i):
    return json.dumps({"samples": [{"t_ms": t0 + j, "speed_kmh": j % 200, "rpm": 800 + j, "odometer_km": i + j / 100}
                                   for j in range(100)]})

def send(conn, vin, t0, i):
    started = time.monotonic()
    try:
        conn.request("POST", f"/api/v1/vehicles/{vin}/telemetry", body=payload(t0, i),
                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        r = conn.getresponse()
        body = r.read().decode(errors="replace")
        answer = {"status": r.status, "type": r.getheader("Content-Type", ""), "retry_after": r.getheader("Retry-After"),
                  "body": body[:400]}
    except (OSError, http.client.HTTPException) as e:
        answer = {"status": "connection " + type(e).__name__, "type": "", "retry_after": None, "body": str(e)}
    answer["seconds"] = round(time.monotonic() - started, 3)
    return answer

lock = threading.Lock()
def writer(w, jobs):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for job in jobs(w):
        a = send(conn, job["vin"], job["t0"], job["i"])
        if not isinstance(a["status"], int):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        a["phase"] = job["phase"]
        with lock:
            if "answers" not in job:  # a new batch (a re-sent one is listed already)
                job["answers"] = []
                state["batches"].append(job)
            job["answers"].append(a)

if phase == "fill":
    # Until the disk is full, and on: a refused batch is re-sent every 50 ms (a dongle keeps its
    # batch until it is stored; Retry-After ignored, for pressure) until the writer has been refused
    # for 3 s. A time limit in any case.
    deadline = time.monotonic() + 90
    def jobs(w):
        i, first_refusal = 0, None
        while time.monotonic() < deadline:
            job = {"vin": vins[w], "t0": T0 + (w * 1_000_000 + i) * 100, "i": i, "phase": "fill"}
            while True:
                yield job
                if job["answers"][-1]["status"] == 202:
                    break
                first_refusal = first_refusal or time.monotonic()
                if time.monotonic() - first_refusal >= 3:
                    return
                time.sleep(0.05)
            i += 1
    threads = [threading.Thread(target=writer, args=(w, jobs)) for w in range(len(vins))]
elif phase == "resume":
    # Space is back: every refused batch re-sent (a dongle retries; up to 3 tries 1 s apart), then 10 new ones per writer.
    refused = [b for b in state["batches"] if b["answers"][-1]["status"] != 202]
    def jobs(w):
        for b in refused[w::len(vins)]:
            for attempt in range(3):
                b["phase"] = "retried"
                yield b
                if b["answers"][-1]["status"] == 202:
                    break
                time.sleep(1)
        for i in range(10):
            yield {"vin": vins[w], "t0": T0 + (w * 1_000_000 + 500_000 + i) * 100, "i": i, "phase": "new"}
    threads = [threading.Thread(target=writer, args=(w, jobs)) for w in range(len(vins))]
started = time.monotonic()
for t in threads: t.start()
for t in threads: t.join()
state.setdefault("seconds", {})[phase] = round(time.monotonic() - started, 2)
json.dump(state, open(out, "w"))
PY

token=$(curl -sf "$base/api/v1/auth/register" -H 'Content-Type: application/json' \
  -d '{"name":"Disk Filler","email":"disk@example.com","password":"fault-password-1"}' | jq -r .access_token)
vins=""
for vin in $(tail -n +2 data/vehicles.csv | head -"$WRITERS" | cut -d, -f1); do
  curl -sf "$base/api/v1/vehicles" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d "{\"vin\":\"$vin\",\"make\":\"Test\",\"model\":\"Dongle\"}" >/dev/null || { echo "FAIL setup: vehicle $vin"; exit 1; }
  vins="${vins:+$vins,}$vin"
done
state="$work/state.json"

# Rows stored per batch, counted by the sqlite3 CLI (read-only, beside the running server).
counts() {  # counts: acked, acked_whole, refused, refused_whole, partial, total_rows
  python3 - "$state" >"$work/batches.sql" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print("CREATE TEMP TABLE b(vin TEXT, t0 INTEGER, acked INTEGER);")
for b in s["batches"]:
    print(f"INSERT INTO b VALUES ('{b['vin']}', {b['t0']}, {1 if any(a['status'] == 202 for a in b['answers']) else 0});")
print("""CREATE TEMP TABLE counted AS SELECT b.acked, (SELECT COUNT(*) FROM signal_history h JOIN vehicles v ON v.id = h.vehicle_id
  WHERE v.vin = b.vin AND h.t_ms BETWEEN b.t0 AND b.t0 + 99) AS n FROM b;""")
print("""SELECT (SELECT COUNT(*) FROM counted WHERE acked), (SELECT COUNT(*) FROM counted WHERE acked AND n = 300),
  (SELECT COUNT(*) FROM counted WHERE NOT acked), (SELECT COUNT(*) FROM counted WHERE NOT acked AND n = 300),
  (SELECT COUNT(*) FROM counted WHERE n NOT IN (0, 300)), (SELECT COUNT(*) FROM signal_history);""")
PY
  sqlite3 -readonly -separator ' ' "$db" <"$work/batches.sql" 2>&1
}
integrity() { sqlite3 -readonly "$db" 'PRAGMA integrity_check' 2>&1 | head -5 | tr '\n' ' ' | sed 's/ $//'; }
answers() {  # answers PHASE: a summary of what the server answered in that phase
  python3 - "$state" "$1" <<'PY'
import json, sys
from collections import Counter
s = json.load(open(sys.argv[1]))
seen = [a for b in s["batches"] for a in b["answers"] if a["phase"] == sys.argv[2]]
print(dict(Counter(str(a["status"]) for a in seen)))
PY
}

# 2. Fill the disk.
echo "== filling the disk"
ingest() {  # ingest PHASE: bounded (the fill stops by itself within 90 s)
  timeout 150 python3 "$work/ingest.py" "$port" "$token" "$1" "$state" "$vins"
  local rc=$?
  [ "$rc" = 0 ] || { check 0 "ingest.$1" "the dongles' script exited with status $rc (124: timed out)"; exit 1; }
}
ingest fill
python3 - "$state" "$work/fill.txt" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
answers = [a for b in s["batches"] for a in b["answers"]]
acked = sum(1 for a in answers if a["status"] == 202)
refused = [a for a in answers if a["status"] != 202]
pending = sum(1 for b in s["batches"] if b["answers"][-1]["status"] != 202)
def clear(a):
    if a["status"] not in (503, 507) or not a["type"].startswith("application/problem+json"):
        return False
    try:
        p = json.loads(a["body"])
    except ValueError:
        return False
    return p.get("status") == a["status"] and bool(p.get("type")) and bool(p.get("detail"))
unclear = [a for a in refused if not clear(a)]
slowest = max(a["seconds"] for a in answers)
example = refused[0] if refused else None
with open(sys.argv[2], "w") as f:
    f.write(f"acked={acked} refused={len(refused)} unclear={len(unclear)} slowest={slowest} seconds={s['seconds']['fill']} pending={pending}\n")
    f.write("statuses=" + json.dumps(dict(__import__('collections').Counter(str(a['status']) for a in answers))) + "\n")
    if example:
        f.write(f"example=HTTP {example['status']} {example['type']} Retry-After: {example['retry_after']} {example['body']}\n")
    for a in unclear[:3]:
        f.write(f"unclear=HTTP {a['status']} {a['type']} {a['body'][:300]}\n")
PY
read -r acked refused unclear slowest fill_s pending <<<"$(head -1 "$work/fill.txt" | sed 's/[a-z_]*=//g')"
echo "   $acked batches acknowledged, then $refused refusals ($pending batches re-sent every 50 ms for 3 s) in ${fill_s} s"
echo "   a refusal: $(sed -n 's/^example=//p' "$work/fill.txt")"
free_full=$(avail_kib)
check "$([ "$refused" -ge "$WRITERS" ] && [ "$acked" -gt 0 ] && echo 1 || echo 0)" fill.disk_full \
  "ingest refused once the disk filled: $acked batches in, then $refused refusals; $free_full KiB left free"
check "$([ "$unclear" = 0 ] && echo 1 || echo 0)" fill.clear_errors \
  "every refusal a 503/507 application/problem+json with status, type and detail ($unclear not)$(sed -n 's/^unclear=/; /p' "$work/fill.txt" | tr -d '\n')"
check "$(awk -v s="$slowest" 'BEGIN {print (s < 10) ? 1 : 0}')" fill.no_hang "slowest answer ${slowest} s (bound 10 s)"

# 3. While full.
echo "== while the disk is full"
alive=$(kill -0 "$pid" 2>/dev/null && echo 1 || echo 0)
check "$alive" full.alive "server process $pid running"
first_vin=${vins%%,*}
reads=""
read_ok=1
for path in /health "/api/v1/vehicles" "/api/v1/vehicles/$first_vin/signals" "/api/v1/vehicles/$first_vin/signals/Motion.Speed/history?limit=10" /api/v1/me; do
  code=$(curl -s -o /dev/null -m 10 -w '%{http_code}' -H "Authorization: Bearer $token" "$base$path")
  reads="$reads $path=$code"
  [ "$code" = 200 ] || read_ok=0
done
check "$read_ok" full.reads "reads answered:$reads"
ready=$(curl -s -m 10 -w ' HTTP %{http_code}' "$base/ready")
login=$(curl -s -m 10 -o /dev/null -w '%{http_code}' "$base/api/v1/auth/login" -H 'Content-Type: application/json' \
  -d '{"email":"disk@example.com","password":"fault-password-1"}')
echo "   (not checked) GET /ready: $ready; POST /api/v1/auth/login (stores a refresh token): HTTP $login"
ic=$(integrity)
check "$([ "$ic" = ok ] && echo 1 || echo 0)" full.integrity "PRAGMA integrity_check: $ic"
read -r c_acked c_whole _ c_refused_whole c_partial c_rows <<<"$(counts)"
check "$([ "$c_acked" = "$c_whole" ] && [ "$c_acked" -gt 0 ] && echo 1 || echo 0)" full.acked_stored \
  "$c_whole of $c_acked acknowledged batches stored whole ($ROWS rows each)"
check "$([ "$c_refused_whole" = 0 ] && [ "$c_partial" = 0 ] && echo 1 || echo 0)" full.refused_not_stored \
  "refused batches stored: $c_refused_whole whole, $c_partial batches stored in part (both must be 0)"

# 4. Space comes back.
echo "== freeing space"
if [ -n "$mounted" ]; then
  rm -f "$small/ballast"
  echo "   ballast deleted: $(avail_kib) KiB free"
else
  prlimit --pid "$pid" --fsize=unlimited: && echo "   RLIMIT_FSIZE of pid $pid raised: $(prlimit --pid "$pid" --fsize --noheadings --output SOFT)"
fi
ingest resume
retried=$(answers retried)
new=$(answers new)
python3 - "$state" >"$work/resume.txt" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
r = [b for b in s["batches"] if b["phase"] == "retried"]
n = [b for b in s["batches"] if b["phase"] == "new"]
ok_r = sum(1 for b in r if b["answers"][-1]["status"] == 202)
first_try = sum(1 for b in r if [a["status"] for a in b["answers"] if a["phase"] == "retried"] == [202])
ok_n = sum(1 for b in n if b["answers"][-1]["status"] == 202)
print(len(r), ok_r, first_try, len(n), ok_n, s["seconds"]["resume"])
PY
read -r n_retried ok_retried first_try n_new ok_new resume_s <<<"$(cat "$work/resume.txt")"
same_pid=$(kill -0 "$pid" 2>/dev/null && echo 1 || echo 0)
check "$([ "$same_pid" = 1 ] && [ "$n_retried" = "$ok_retried" ] && echo 1 || echo 0)" resume.refused_resent \
  "without a restart (pid $pid), $ok_retried of $n_retried refused batches accepted when re-sent ($first_try at the first retry); answers $retried"
check "$([ "$n_new" = "$ok_new" ] && [ "$n_new" -gt 0 ] && echo 1 || echo 0)" resume.new_batches \
  "$ok_new of $n_new new batches accepted; answers $new (${resume_s} s for the resume phase)"
read -r c_acked c_whole _ c_refused_whole c_partial c_rows <<<"$(counts)"
check "$([ "$c_acked" = "$c_whole" ] && [ "$c_partial" = 0 ] && [ "$c_rows" = $((c_acked * ROWS)) ] && echo 1 || echo 0)" resume.rows \
  "sqlite3 counts $c_rows signal rows = $c_acked acknowledged batches x $ROWS (expected $((c_acked * ROWS))); $c_whole stored whole, $c_partial in part"
ic=$(integrity)
check "$([ "$ic" = ok ] && echo 1 || echo 0)" resume.integrity "PRAGMA integrity_check: $ic"

# 5. A clean stop.
echo "== stopping"
kill -TERM "$pid"
stopped=0
for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || { stopped=1; break; }; sleep 0.1; done
wait "$pid"
status=$?
pid=""
check "$([ "$stopped" = 1 ] && [ "$status" = 0 ] && grep -q 'motorpool stopped' "$work/server.log" && echo 1 || echo 0)" stop.clean \
  "SIGTERM: exit status $status, 'motorpool stopped' logged: $(grep -c 'motorpool stopped' "$work/server.log")"
ic=$(integrity)
check "$([ "$ic" = ok ] && echo 1 || echo 0)" stop.integrity "PRAGMA integrity_check after the stop: $ic"
bad=$(grep -cE '^[^ ]+ (critical|error) ' "$work/server.log")
echo "   server log: $(grep -cE '^[^ ]+ warning ' "$work/server.log") warnings, $bad errors; distinct:"
grep -E '^[^ ]+ (warning|error|critical) ' "$work/server.log" | sed -E 's/^[^ ]+ //; s/request_id=[0-9a-f]+ //' | sort | uniq -c | sort -rn | head -6 | sed 's/^/     /'
check "$([ "$bad" = 0 ] && echo 1 || echo 0)" server.log "no error or critical lines in the server log ($bad)"

echo "== summary"
echo "   file system: $method"
echo "   fill: $acked batches ($((acked * ROWS)) rows) acknowledged, then $refused refusals of $pending batches in ${fill_s} s; slowest answer ${slowest} s"
echo "   refusals: $(sed -n 's/^statuses=//p' "$work/fill.txt"); e.g. $(sed -n 's/^example=//p' "$work/fill.txt" | cut -c1-260)"
echo "   after $([ -n "$mounted" ] && echo "freeing ${BALLAST_MIB} MiB" || echo "raising the limit"): $ok_retried/$n_retried refused batches re-sent OK, $ok_new/$n_new new; $c_rows rows stored = $c_acked batches x $ROWS"
fails=$(grep -c '^FAIL' "$results")
echo "== $(grep -c '^PASS' "$results") passed, $fails failed"
[ "$fails" = 0 ]
