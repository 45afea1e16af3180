#!/usr/bin/env bash
# The whole test suite: set-up (idempotent), type check, then vitest.
# A failing simulation fails a vitest test and so this script's exit code.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npx tsc --noEmit
npx vitest run "$@"
