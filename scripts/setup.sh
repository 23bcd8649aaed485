#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks to build, run and verify accelgen: Verilator (RTL
# simulation and lint), Yosys (synthesis checks), OpenSTA (`sta`, timing in `accelgen synth`), Icarus
# Verilog, ccache (Verilator build cache) and a C++ toolchain. Tools already on PATH are skipped. Rust itself is expected (rustup's cargo).
set -euo pipefail

need=()
for tool in verilator yosys sta iverilog ccache make g++; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        case "$tool" in
            g++) need+=(g++) ;;
            make) need+=(make) ;;
            sta) need+=(opensta) ;;
            *) need+=("$tool") ;;
        esac
    fi
done

if [ ${#need[@]} -gt 0 ]; then
    echo "setup: installing ${need[*]}"
    sudo_cmd=""
    if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${need[@]}"
else
    echo "setup: verilator, yosys, sta, iverilog, ccache, make and g++ already present"
fi

if ! command -v cargo >/dev/null 2>&1; then
    echo "setup: cargo not found; install Rust with rustup (https://rustup.rs) and re-run" >&2
    exit 1
fi
verilator --version
yosys -V
