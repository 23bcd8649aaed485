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
cargo test --workspace --locked --no-run

# Yosys on every shipped config (tests/flow_package.rs) is the longest single test, and mostly
# one single-threaded Yosys per core; it runs beside the rest of the suite, whose Verilator builds
# and simulations leave cores idle, instead of after it. Every test still runs once. Its binary is
# started directly: two `cargo test`s on one target directory take turns.
synth_test=synth_script_runs_clean_in_yosys_and_opensta_reads_its_netlist_and_sdc
flow_package=$(cargo test -p accelgen --locked --test flow_package --no-run 2>&1 |
    sed -n 's/^ *Executable .*(\(.*\))$/\1/p')
if [ ! -x "$flow_package" ]; then
    echo "cannot find the tests/flow_package.rs binary (got '$flow_package')" >&2
    exit 1
fi
synth_log=$(mktemp)
"$flow_package" --exact "$synth_test" >"$synth_log" 2>&1 &
synth_pid=$!
status=0
cargo test --workspace --locked --no-fail-fast -- --skip "$synth_test" || status=$?
synth_status=0
wait "$synth_pid" || synth_status=$?
echo "---- tests/flow_package.rs: $synth_test (run beside the suite) ----"
cat "$synth_log"
rm -f "$synth_log"
if [ "$status" -ne 0 ] || [ "$synth_status" -ne 0 ]; then
    echo "FAILED: the test suite exited $status, the synthesis test $synth_status" >&2
    exit 1
fi
