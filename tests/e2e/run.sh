#!/usr/bin/env bash
# The end-to-end suite: installs the pinned npm packages (package-lock.json), then runs every
# *.test.mjs against the motorpool binary given.
#   tests/e2e/run.sh path/to/motorpool
set -euo pipefail
bin=$(realpath "$1")
cd "$(dirname "$0")"
# Under ctest the e2e.npm_ci fixture installed them once (two installs at once would collide).
[ -n "${MOTORPOOL_E2E_INSTALLED:-}" ] || npm ci --no-audit --no-fund --loglevel=error >/dev/null
MOTORPOOL_BIN=$bin exec node --test
