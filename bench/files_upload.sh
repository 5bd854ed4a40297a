#!/usr/bin/env bash
# Local upload throughput: SIZE_MIB (100) files PUT through presigned URLs into local storage,
# against the disk's sequential write speed measured by dd (with fdatasync) in the same directory
# in the same run; the server's RSS before and after (uploads stream to disk, so it stays flat); then
# downloads of the last file (streamed from disk in pieces).
#   bench/files_upload.sh            Environment: SIZE_MIB (100), FILES (5)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
bench_build motorpool
SIZE_MIB=${SIZE_MIB:-100}
FILES=${FILES:-5}
work=$(mktemp -d -p "${BENCH_DIR:-$PWD}" files-bench.XXXXXX)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

export DATABASE_URL="sqlite:///$work/bench.db" MOTORPOOL_LOG_LEVEL=warn MOTORPOOL_ENV=test
export SECRET_KEY=bench-secret-key-0123456789abcdef MOTORPOOL_FILES_DIR="$work/files"
export MOTORPOOL_FILES_PHOTO_MAX_BYTES=$(( (SIZE_MIB + 1) * 1048576 )) MOTORPOOL_FILES_QUOTA_BYTES=$(( 1 << 40 ))
echo bench-password-1 | build/motorpool users create --email bench@motorpool.local --role admin --password-stdin >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
PORT=$port MOTORPOOL_HOST=127.0.0.1 build/motorpool serve >"$work/server.log" 2>&1 & pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
base="http://127.0.0.1:$port"
token=$(curl -sf -H 'Content-Type: application/json' -d '{"email":"bench@motorpool.local","password":"bench-password-1"}' \
  "$base/api/v1/auth/login" | jq -r .access_token)

# A PNG signature and header, then random bytes: libmagic sees a PNG, the disk sees incompressible data.
body="$work/upload.png"
{ printf '\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00\x1f\xf3\xff\x61'
  head -c $(( SIZE_MIB * 1048576 - 33 )) /dev/urandom; } >"$body"
size=$(stat -c %s "$body")
rss() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }
rss_before=$(rss)

echo "== dd: ${SIZE_MIB} MiB, sequential, fdatasync, in the storage directory's file system"
dd_out=$(dd if="$body" of="$work/dd.out" bs=1M conv=fdatasync 2>&1 | tail -1)
echo "$dd_out"
rm -f "$work/dd.out"

echo "== motorpool: $FILES uploads of ${SIZE_MIB} MiB through presigned URLs"
total=0
for i in $(seq "$FILES"); do
  presigned=$(curl -sf -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d "{\"filename\":\"big-$i.png\",\"content_type\":\"image/png\",\"size_bytes\":$size,\"purpose\":\"vehicle_photo\"}" \
    "$base/api/v1/files/presign")
  url=$(echo "$presigned" | jq -r .url | sed "s#^http://[^/]*#$base#")
  seconds=$(curl -sf -o /dev/null -w '%{time_total}' -X PUT -H 'Content-Type: image/png' --data-binary "@$body" "$url")
  echo "upload $i: $seconds s, $(python3 -c "print(f'{$size/1048576/$seconds:.1f}')") MiB/s"
  total=$(python3 -c "print($total + $seconds)")
done
echo "motorpool mean: $(python3 -c "print(f'{$FILES*$size/1048576/$total:.1f}')") MiB/s"
echo "server RSS: ${rss_before} KiB before, $(rss) KiB after"

echo "== downloads: the last file through its signed URL, $FILES times (streamed from disk)"
file_id=$(echo "$presigned" | jq -r .file_id)
total=0
for i in $(seq "$FILES"); do
  url=$(curl -sf -H "Authorization: Bearer $token" "$base/api/v1/files/$file_id" | jq -r .download_url | sed "s#^http://[^/]*#$base#")
  seconds=$(curl -sf -o /dev/null -w '%{time_total}' "$url")
  total=$(python3 -c "print($total + $seconds)")
done
echo "download mean: $(python3 -c "print(f'{$FILES*$size/1048576/$total:.1f}')") MiB/s; server RSS $(rss) KiB"
