#!/usr/bin/env bash
# iCE40 flow of small accelerator configurations: Yosys synth_ice40 and
# nextpnr-ice40 on an iCE40 UP5K and HX8K; reports LUTs, flip-flops, fit and the
# Fmax nextpnr estimates (scripts/fpga-ice40.ts). Installs nextpnr-ice40 and
# fpga-icestorm from Debian when they are missing (idempotent; as root or with sudo).
#
#   bash scripts/fpga-ice40.sh [--json FILE] [--devices up5k,hx8k] [--jobs 2] [--freq 12] [--only 0,2]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

need_apt=()
command -v nextpnr-ice40 >/dev/null 2>&1 || need_apt+=(nextpnr-ice40)
command -v icepack       >/dev/null 2>&1 || need_apt+=(fpga-icestorm)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "fpga-ice40: installing ${need_apt[*]} from Debian" >&2
  SUDO=""
  if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

exec node --import tsx scripts/fpga-ice40.ts "$@"
