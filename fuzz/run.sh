#!/usr/bin/env bash
# Runs one fuzz target: its regression inputs once each, then new inputs for SECONDS.
#   fuzz/run.sh MOTORPOOL_FUZZ_BINARY TARGET WORK_DIR [SECONDS]
# SECONDS defaults to MOTORPOOL_FUZZ_SECONDS, else 15 (what `make test` gives each target).
# The corpus grows in WORK_DIR/corpus/TARGET (read together with the seeds in fuzz/corpus/TARGET);
# a crashing input is saved as WORK_DIR/artifacts/TARGET-crash-*: copy it into
# fuzz/regressions/TARGET/ with the fix, so every later run replays it.
set -uo pipefail
binary=$1
target=$2
work=$3
seconds=${4:-${MOTORPOOL_FUZZ_SECONDS:-15}}
here=$(cd "$(dirname "$0")" && pwd)
seeds=$here/corpus/$target
regressions=$here/regressions/$target
mkdir -p "$work/corpus/$target" "$work/artifacts"
log=$work/$target.log
export MOTORPOOL_FUZZ_TARGET=$target

options=(-timeout=30 -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$work/artifacts/$target-")
[ -f "$here/dict/$target.dict" ] && options+=(-dict="$here/dict/$target.dict")
case $target in
  http_session | ws_hub | smartcar_webhook | query)
    # (query reads the running server's router.) The server's own threads allocate and free while an input runs, so libFuzzer's per-input leak
    # check would blame inputs for memory in flight, and at exit libFuzzer leaves with the server's
    # libcurl/OpenSSL state alive. The server's leaks are LeakSanitizer's at the end of every
    # integration test run instead (make test), where it shuts down in order.
    options+=(-detect_leaks=0)
    export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" ;;
esac

if [ -d "$regressions" ] && [ -n "$(ls -A "$regressions" 2>/dev/null)" ]; then
  if ! "$binary" "${options[@]}" "$regressions"/* >"$log" 2>&1; then
    echo "fuzz $target: a regression input fails again:" >&2
    tail -n 60 "$log" >&2
    exit 1
  fi
  echo "fuzz $target: $(ls -A "$regressions" | wc -l) regression input(s) pass"
fi

"$binary" "${options[@]}" -max_total_time="$seconds" "$work/corpus/$target" "$seeds" >"$log" 2>&1
status=$?
executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
coverage=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -n 1)
corpus=$(ls -A "$work/corpus/$target" | wc -l)
echo "fuzz $target: ${executions:-?} executions in ${seconds} s (${speed:-?}/s), ${coverage:-no coverage line}, ${corpus} new corpus entries"
if [ $status -ne 0 ]; then
  echo "fuzz $target: FAILED (exit $status); the input is in $work/artifacts/:" >&2
  grep -E 'fuzz:|ERROR: |SUMMARY|Test unit written|==[0-9]+==' "$log" | head -n 20 >&2
  tail -n 40 "$log" >&2
  exit 1
fi
