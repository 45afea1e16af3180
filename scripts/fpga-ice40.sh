#!/usr/bin/env bash
# iCE40 flow of small accelerator configurations: Yosys synth_ice40 and
# nextpnr-ice40 on an iCE40 UP5K and HX8K; reports LUTs, flip-flops, fit and the
# Fmax nextpnr estimates (scripts/fpga-ice40.ts). Installs nextpnr-ice40 and
# fpga-icestorm from Debian when they are missing (idempotent; as root or with sudo).
#
#   bash scripts/fpga-ice40.sh [--json FILE] [--devices up5k,hx8k] [--jobs 2] [--freq 12] [--only 0,2]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh nextpnr-ice40=nextpnr-ice40 icepack=fpga-icestorm

exec node --import tsx scripts/fpga-ice40.ts "$@"
