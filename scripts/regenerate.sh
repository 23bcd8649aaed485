#!/usr/bin/env bash
# Regenerates generated/<config>/ for every configs/*.yaml with the current generator.
# CI fails (generated_directory_matches_the_current_generator) when generated/ is stale.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --release -p accelgen-cli
for config in configs/*.yaml; do
    name=$(basename "$config" .yaml)
    ./target/release/accelgen --config "$config" -o "generated/$name"
done
