#!/usr/bin/env bash
# Measures the int8 PE arrays of every built dataflow at 8×8 and 16×16 with `accelgen bench gemm`:
#   - Verilator build time: cold (empty model cache, ccache off), ccache-warm (empty model cache,
#     ccache holding the objects) and cached (model cache hit: load only);
#   - simulation speed: median of 5 runs of a 256×256×256 GEMM (cycles/s and MACs/s);
#   - cycles: RTL, cycle model, ideal and SCALE-Sim's formula for a 64×64×64 GEMM.
# Prints one line per array. Usage: scripts/bench-arrays.sh   (takes a few minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --release -p accelgen-cli
accelgen=./target/release/accelgen
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

field() { # field NAME < json
    sed -n "s/^ *\"$1\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}$/\1/p"
}

printf '%-22s %8s %8s %8s %7s %6s %7s %9s %12s %14s\n' \
    array cold_s ccache_s cached_s rtl64 model64 ideal64 scalesim64 cycles/s MACs/s
for dataflow in weight_stationary output_stationary input_stationary; do
    for size in 8 16; do
        config="$work/${dataflow}_${size}.yaml"
        sed -e "s/^name: .*/name: bench_${dataflow}_${size}/" \
            -e "s/^  rows: .*/  rows: $size/" -e "s/^  cols: .*/  cols: $size/" \
            -e "s/^  dataflow: .*/  dataflow: $dataflow/" configs/edge_ws.yaml > "$config"
        gemm=(bench gemm --config "$config")
        cold=$(ACCELGEN_SIM_CACHE="$work/cold_$dataflow$size" ACCELGEN_SIM_CCACHE=0 \
            "$accelgen" "${gemm[@]}" --m 8 --k 8 --n 8 | field verilator_build_seconds)
        # The cold build above did not fill ccache; fill it, then build into a fresh cache.
        ACCELGEN_SIM_CACHE="$work/fill_$dataflow$size" "$accelgen" "${gemm[@]}" --m 8 --k 8 --n 8 >/dev/null
        warm=$(ACCELGEN_SIM_CACHE="$work/warm_$dataflow$size" \
            "$accelgen" "${gemm[@]}" --m 8 --k 8 --n 8 | field verilator_build_seconds)
        export ACCELGEN_SIM_CACHE="$work/warm_$dataflow$size"
        small=$("$accelgen" "${gemm[@]}" --m 64 --k 64 --n 64)
        big=$("$accelgen" "${gemm[@]}" --m 256 --k 256 --n 256 --repeat 5)
        unset ACCELGEN_SIM_CACHE
        printf '%-22s %8s %8s %8s %7s %6s %7s %9s %12s %14s\n' \
            "${dataflow%%_*}_${size}x${size}" "$cold" "$warm" \
            "$(field verilator_build_seconds <<<"$big")" \
            "$(field rtl_cycles <<<"$small")" "$(field model_cycles <<<"$small")" \
            "$(field ideal_cycles <<<"$small")" "$(field scalesim_cycles <<<"$small")" \
            "$(field cycles_per_second <<<"$big")" "$(field macs_per_second <<<"$big")"
    done
done
