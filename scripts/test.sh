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

# Yosys on every shipped config (tests/flow_package.rs) is the longest single test: minutes of
# single-threaded Yosys per 16×16 core. It runs beside the rest of the suite instead of after it,
# so its Yosys runs fill the cores the Verilator builds and testbenches leave idle. Every test
# still runs exactly once: the suite skips it by its exact name, and its own run must report
# that one test passed. Its binary is started directly, because two `cargo test`s on one target
# directory take turns; the path comes from the build of the whole suite.
synth_test=synth_script_runs_clean_in_yosys_and_opensta_reads_its_netlist_and_sdc
build_log=$(mktemp)
synth_log=$(mktemp)
synth_pid=
cleanup() {
    if [ -n "$synth_pid" ]; then kill "$synth_pid" 2>/dev/null || true; fi
    rm -f "$build_log" "$synth_log"
}
trap cleanup EXIT
cargo test --workspace --locked --no-run 2>&1 | tee "$build_log"
flow_package=$(sed -n 's/^ *Executable tests\/flow_package\.rs (\(.*\))$/\1/p' "$build_log")
if [ ! -x "$flow_package" ]; then
    echo "cannot find the tests/flow_package.rs binary in the build output (got '$flow_package')" >&2
    exit 1
fi
"$flow_package" --exact "$synth_test" >"$synth_log" 2>&1 &
synth_pid=$!
status=0
cargo test --workspace --locked --no-fail-fast -- --exact --skip "$synth_test" || status=$?
synth_status=0
wait "$synth_pid" || synth_status=$?
synth_pid=
echo "---- tests/flow_package.rs: $synth_test (run beside the suite) ----"
cat "$synth_log"
if ! grep -q "test result: ok. 1 passed" "$synth_log"; then
    echo "FAILED: the synthesis test did not run and pass exactly once" >&2
    synth_status=1
fi
if [ "$status" -ne 0 ] || [ "$synth_status" -ne 0 ]; then
    echo "FAILED: the test suite exited $status, the synthesis test $synth_status" >&2
    exit 1
fi
