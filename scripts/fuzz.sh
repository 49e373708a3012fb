#!/usr/bin/env bash
# A longer fuzz pass than the one `npm test` runs (64 cases per target):
#   bash scripts/fuzz.sh [CASES]   (default 5000 per target, release build, a few minutes)
# Targets: crates/runtime/tests/fuzz.rs. A failure prints the smallest input found; add it
# to crates/runtime/tests/fuzz-corpus/ with the fix.
set -euo pipefail
cd "$(dirname "$0")/.."
PROPTEST_CASES="${1:-5000}" cargo test --release -p remotemedia-runtime --test fuzz
