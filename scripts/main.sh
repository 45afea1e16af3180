#!/usr/bin/env bash
# The main job on the embedded default: set up the machine (idempotent), generate
# the default design into rtl-out/, then simulate it against golden vectors from
# the TypeScript reference on Verilator and on Icarus. Exits non-zero on any
# mismatch. Extra arguments are passed to `msq sim` (e.g. --wbits 2).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
node bin/msq.mjs generate "$@"
node bin/msq.mjs sim --simulator verilator "$@"
node bin/msq.mjs sim --simulator icarus "$@"
