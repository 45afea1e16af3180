#!/usr/bin/env bash
# ASIC hand-off of one accelerator configuration: RTL and SDC from msq generate,
# a generic gate-level netlist from Yosys, and with --liberty FILE a netlist
# mapped to that library with its area (scripts/asic-synth.ts explains the steps).
#
#   bash scripts/asic-synth.sh [generator flags] [--liberty FILE.lib] [--flatten] [--out DIR]
#   bash scripts/asic-synth.sh --rows 4 --cols 8 --wbits 2 --depth 16 --liberty perf/liberty/msq-ge.lib
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >&2
exec node --import tsx scripts/asic-synth.ts "$@"
