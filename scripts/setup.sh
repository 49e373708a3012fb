#!/usr/bin/env bash
# Idempotent setup: installs what the project needs from the package registries
# (crates.io, npm) and skips whatever is already there. Safe to run every time;
# `npm run demo` and `npm test` run it first.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[setup] %s\n' "$*"; }

if ! command -v cargo >/dev/null 2>&1; then
  [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
fi
command -v cargo >/dev/null 2>&1 || { echo "[setup] cargo not found: install Rust with rustup first" >&2; exit 1; }
command -v node >/dev/null 2>&1 || { echo "[setup] node not found: install Node.js 20 or newer" >&2; exit 1; }

# The runtime must keep building for browsers.
if command -v rustup >/dev/null 2>&1; then
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
fi

# npm dev dependencies (audio-lena: the real recording used by the demo and tests).
if [ ! -f node_modules/audio-lena/lena.wav ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies"
  npm ci --no-audit --no-fund --loglevel=error
fi
say "ready"
