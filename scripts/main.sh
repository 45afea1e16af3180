#!/usr/bin/env bash
# The main job on the embedded default: set up the machine (idempotent),
# generate the default accelerator (8x8, W4A8, B = 8, G = 32, crossbar) into
# rtl-out/accelerator, then simulate it against golden vectors from the
# TypeScript reference on Verilator and on Icarus. Exits non-zero on any
# mismatch. Extra arguments go to both msq commands (e.g. --rows 4 --wbits 2).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
node bin/msq.mjs generate "$@"
node bin/msq.mjs sim --simulator verilator "$@"
node bin/msq.mjs sim --simulator icarus "$@"
