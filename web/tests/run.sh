#!/usr/bin/env bash
# The dashboard's browser tests against the motorpool binary given (CTest's web.playwright):
# installs the pinned npm packages and builds web/dist when missing, then runs Playwright.
#   web/tests/run.sh path/to/motorpool
set -euo pipefail
bin=$(realpath "$1")
cd "$(dirname "$0")/.."
[ -d node_modules/@playwright/test ] || npm ci --no-audit --no-fund --loglevel=error >/dev/null
[ -f dist/index.html ] || npm run build --silent >/dev/null
MOTORPOOL_BIN=$bin exec npx playwright test
