#!/usr/bin/env bash
# Sets up a fresh Debian machine and runs every check CI runs: formatting, clippy with warnings as
# errors, and the whole test suite (unit, snapshot, CLI, generated-RTL lint/synthesis, Verilator
# testbenches).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export CCACHE_DIR="${CCACHE_DIR:-$PWD/target/ccache}"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked --no-fail-fast
