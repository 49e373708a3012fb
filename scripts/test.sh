#!/usr/bin/env bash
# Every suite that exists so far: formatting, lints, the runtime's tests (unit,
# integration on the real recording, CLI, doc tests) and the wasm32 build.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check
step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets -- -D warnings
step "cargo test"
cargo test --workspace
step "cargo build --target wasm32-unknown-unknown (the runtime must build for browsers)"
cargo build -p remotemedia-runtime --lib --target wasm32-unknown-unknown --release
echo
echo "all suites passed"
