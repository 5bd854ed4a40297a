#!/usr/bin/env bash
# The motorpool command line on a fresh SQLite database: config masks secrets, migrate and
# migrate --status, users create/list (password from stdin only), and refusals with exit codes.
#   tests/cli/cli_test.sh path/to/motorpool
set -uo pipefail
bin=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
export DATABASE_URL="sqlite:///$work/cli.db" MOTORPOOL_LOG_LEVEL=warn MOTORPOOL_ENV=development
passed=0
failed=0
check() {  # check NAME CONDITION...
  local name=$1; shift
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $name"; fi
}

out=$(SECRET_KEY=very-secret-signing-key-0123456789 "$bin" config)
check "config masks SECRET_KEY" grep -q "SECRET_KEY .*\*\*\*\* (34 chars)" <<<"$out"
check "config never prints the secret" bash -c '! grep -q very-secret-signing-key <<<"$0"' "$out"
out=$(DATABASE_URL=postgresql://u:hunter2@db.invalid/mp "$bin" config)
check "config masks the database password" bash -c 'grep -q "postgresql://u:\*\*\*\*@db.invalid/mp" <<<"$0" && ! grep -q hunter2 <<<"$0"' "$out"

out=$("$bin" migrate)
check "migrate applies" grep -q "migration(s) applied" <<<"$out"
out=$("$bin" migrate --status)
check "migrate --status lists applied migrations" bash -c 'grep -q "0001 baseline .*applied" <<<"$0" && grep -q "0002 accounts .*applied" <<<"$0"' "$out"

echo "cli-password-1" | "$bin" users create --email Ops@Example.com --name Ops --role admin --password-stdin >/dev/null
check "users create" test $? -eq 0
out=$("$bin" users list)
check "users list shows the normalised e-mail and role" grep -q "ops@example.com .*admin .*active" <<<"$out"
echo "cli-password-1" | "$bin" users create --email ops@example.com --password-stdin >/dev/null 2>&1
check "duplicate e-mail refused" test $? -eq 2
echo "short" | "$bin" users create --email x@example.com --password-stdin >/dev/null 2>&1
check "short password refused" test $? -eq 2
echo "long enough pw" | "$bin" users create --email x@example.com --role emperor --password-stdin >/dev/null 2>&1
check "unknown role refused" test $? -eq 2
"$bin" users create --email x@example.com >/dev/null 2>&1
check "password only from stdin" test $? -ne 0
PORT=99999 "$bin" config >/dev/null 2>&1
check "bad PORT is a configuration error" test $? -eq 2
MOTORPOOL_ENV=production "$bin" serve >/dev/null 2>&1
check "production refuses to start without secrets" test $? -eq 2

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
