#!/usr/bin/env bash
# Native benchmarks of every audio node (Criterion). Pass --quick for a short run.
set -euo pipefail
cd "$(dirname "$0")/.."
args=()
if [ "${1:-}" = "--quick" ]; then args=(--warm-up-time 1 --measurement-time 2); fi
cargo bench -p remotemedia-runtime --bench audio_nodes -- "${args[@]}"
