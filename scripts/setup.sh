#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian machine (run as root) or an existing one.
# Installs the EDA tools the flow needs (verilator, iverilog, yosys, and OpenSTA
# for msq signoff: command sta, package opensta; z3, the SMT solver of msq formal)
# from Debian and the npm
# packages. When everything is present it returns in about a second.
#
#   bash scripts/setup.sh [COMMAND=PACKAGE ...]
#
# Each COMMAND=PACKAGE argument adds a tool a script needs beyond these: the
# Debian PACKAGE is installed when COMMAND is missing (scripts/fpga-ice40.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
for tool in verilator=verilator iverilog=iverilog yosys=yosys sta=opensta z3=z3 "$@"; do
  command -v "${tool%%=*}" >/dev/null 2>&1 || need_apt+=("${tool#*=}")
done

if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]} from Debian" >&2
  SUDO=""
  if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# npm packages: reinstall only when package.json or package-lock.json changed
# since the last install. `npm install` (not `npm ci`) follows the lock file:
# vite lists an optional dependency that the registry does not serve, which
# `npm ci` reports as a lock-file mismatch although nothing is missing.
stamp=node_modules/.msq-install-stamp
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] || [ package.json -nt "$stamp" ]; then
  echo "setup: installing npm packages" >&2
  npm install --no-audit --no-fund --loglevel=error
  touch "$stamp"
fi
