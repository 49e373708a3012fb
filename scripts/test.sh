#!/usr/bin/env bash
# Every suite: Rust formatting and lints, cargo test (the runtime on real audio, the
# native CLI, Python nodes in embedded CPython, the original SDK's manifests), the CLI
# built without Python, wasm-pack test of the worker crate on a page and inside a dedicated
# worker and of the gloo-worker crate, the Leptos example, the SDK's unit tests, the Python package's unit tests, the end-to-end tests
# in headless Chromium, and the packed SDK in real apps (Vite + React, Vite + Vue,
# Parcel 2, webpack 5, SvelteKit, Nuxt 4, Next.js). Run after scripts/setup.sh (npm test does).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"

# Each step says how far into the run it starts (seconds), so a slow one shows in CI logs.
START=$SECONDS
step() { printf '\n== [%ss] %s\n' "$((SECONDS - START))" "$*"; }

# A build that runs out of disk fails far from the cause (a linker that dies writing its
# output, a test that cannot write a file): say up front when space is short. A fresh
# clone's run writes about 5 GB (target/, the fixture apps, the browser profile).
free_kb=$(df -Pk . | awk 'NR == 2 { print $4 }')
if [ "${free_kb:-0}" -lt $((6 * 1024 * 1024)) ]; then
  echo "WARNING: only $((free_kb / 1024)) MiB free on $(df -P . | awk 'NR == 2 { print $6 }'); npm test writes about 5 GB" >&2
fi

step "cargo fmt --check"
cargo fmt --all -- --check
step "cargo clippy -D warnings (native, and the worker crate for wasm32)"
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy -p remotemedia-worker --target wasm32-unknown-unknown --all-features -- -D warnings
cargo clippy -p remotemedia-web --target wasm32-unknown-unknown --all-targets -- -D warnings
step "cargo doc -D warnings (doc comments' links resolve)"
RUSTDOCFLAGS="-D warnings" cargo doc -q --no-deps -p remotemedia-runtime -p remotemedia-models -p remotemedia-worker -p remotemedia-web
step "cargo test (with a short fuzz pass: crates/runtime/tests/fuzz.rs)"
cargo test --workspace
# cargo test built the native CLI (with Python, a debug build whose dependencies are
# optimised): the suites below that compare with the native runtime use it.
cp target/debug/remotemedia target/remotemedia-cli
export REMOTEMEDIA_CLI="$PWD/target/remotemedia-cli"
step "the native CLI without Python (the runtime's cargo feature python off)"
# Rust-only manifests still run; a Python node fails with an error that says how to get Python.
cargo build -q -p remotemedia-runtime --no-default-features --bin remotemedia
cp target/debug/remotemedia target/remotemedia-no-python
out=$(target/remotemedia-no-python run test-vectors/original/calc_with_input.json)
echo "$out" | grep -q '"outputs":\[20,24,16\]' || { echo "a Rust-only manifest failed without Python: $out"; exit 1; }
if target/remotemedia-no-python run test-vectors/original/python_text_wasm.json > target/no-python.out 2>&1; then
  echo "a Python node ran in a build without Python"; exit 1
fi
grep -q "has no Python" target/no-python.out || { cat target/no-python.out; exit 1; }
step "wasm-pack test --headless --chrome (crates/worker: on a page and in a dedicated worker; crates/web: gloo-worker workers spawned from Rust)"
# Retried once when the wasm linker itself crashed (rust-lld's "PLEASE submit a bug
# report"), as it did once in CI and never here; a test failure is never retried.
wasm_pack_test() {
  local log
  log=$(mktemp)
  if wasm-pack test --headless --chrome "$@" 2>&1 | tee "$log"; then rm -f "$log"; return 0; fi
  if grep -q "PLEASE submit a bug report" "$log"; then
    rm -f "$log"
    echo "WARNING: the wasm linker crashed building $1's tests (above); building them once more" >&2
    wasm-pack test --headless --chrome "$@"
    return
  fi
  rm -f "$log"
  return 1
}
wasm_pack_test crates/worker --test page --test worker
wasm_pack_test crates/web --test browser
step "SDK: biome (lint and format, biome.json), tsc --strict, unit tests (js-sdk/test); import cycles (Rust and TS)"
biome check
node scripts/module-cycles.mjs
# One concept per module: no SDK source file over 400 lines.
find js-sdk/src -name '*.ts' -print0 | xargs -0 wc -l | awk '$2 != "total" && $1 > 400 { print "over 400 lines: " $2 " (" $1 ")"; long = 1 } END { exit long }'

tsc -p js-sdk/tsconfig.json --noEmit
tsc -p js-sdk/tsconfig.worker.json --noEmit
# The unit tests run on the TypeScript sources through tsx (no build needed), but
# server-side.test.mjs, which checks the built module.
node --import tsx --test js-sdk/test/
step "Python package: ruff (lint and format) and unit tests (js-sdk/python/tests)"
target/onnx-venv/bin/ruff check js-sdk/python
target/onnx-venv/bin/ruff format --check js-sdk/python
python3 -m unittest discover -s js-sdk/python/tests
step "the Rust web app example (examples/rust-app: Leptos and the gloo-worker workers, built for wasm32)"
# (Its clippy pass is left to examples/rust-app/README.md: it would compile Leptos twice.)
cargo fmt --manifest-path examples/rust-app/Cargo.toml -- --check
node examples/rust-app/build.mjs
step "end-to-end tests in headless Chromium (tests-web)"
node --test --test-concurrency=1 tests-web/
step "the npm package in fixture apps (fixtures/: Vite 8 and 7 + React, Vite + Vue, Parcel 2, webpack 5, SvelteKit, Nuxt 4, Next.js; dev and production; Vite + Vue also in Firefox and WebKit)"
node --test --test-concurrency=1 fixtures/
step "benchmark harness, quick mode (proves it runs; no assertions on times)"
node bench/run.mjs --quick > /dev/null
node bench/memory.mjs --quick > /dev/null
node bench/vad.mjs --quick > /dev/null
node bench/python.mjs --quick > /dev/null
echo
echo "all suites passed in $((SECONDS - START)) s"
