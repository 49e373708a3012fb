#!/usr/bin/env bash
# Idempotent setup: installs what the project needs from the package registries
# (Debian, crates.io, npm) and skips whatever is already there, then builds the SDK
# (incrementally). `npm run demo`, `npm test` and `npm run bench` run it first.
set -euo pipefail
cd "$(dirname "$0")/.."
# Run as js-sdk's prepack, npm passes its own flags down as npm_config_* variables: under
# `npm pack --dry-run` the `npm ci` below would then install nothing, the build would
# fail, and the package would be listed without its runtime files. This script always
# really installs and builds (the dry run still writes no tarball).
unset npm_config_dry_run npm_config_ignore_scripts
. scripts/null-device.sh

say() { printf '[setup] %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v cargo >/dev/null 2>&1 && [ -f "$HOME/.cargo/env" ]; then . "$HOME/.cargo/env"; fi
command -v cargo >/dev/null 2>&1 || { echo "[setup] cargo not found: install Rust with rustup first" >&2; exit 1; }
command -v node >/dev/null 2>&1 || { echo "[setup] node not found: install Node.js 20 or newer" >&2; exit 1; }
export PATH="$HOME/.cargo/bin:$PATH"

# Rust target for browsers.
if command -v rustup >/dev/null 2>&1 && ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# wasm-pack (builds and tests the worker crate).
if ! command -v wasm-pack >/dev/null 2>&1; then
  say "installing wasm-pack (cargo install, a few minutes)"
  cargo install wasm-pack --locked
fi

# wasm-bindgen-cli at exactly the version in Cargo.lock, or wasm-pack downloads one.
want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  say "installing wasm-bindgen-cli $want (was: ${have:-none})"
  cargo install wasm-bindgen-cli --version "$want"
fi

# Debian packages: Chromium and its matching driver (wasm-pack test, Playwright); Python 3's
# development files, which the native runtime's Python nodes link (PyO3, the `python`
# feature; .cargo/config.toml points PyO3 at /usr/bin/python3), numpy for numpy nodes,
# venv for the onnxruntime reference below, and ffmpeg, which makes the audio-format test
# files and is their reference decoder.
apt_missing=()
command -v chromium >/dev/null 2>&1 || apt_missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || apt_missing+=(chromium-driver)
command -v ffmpeg >/dev/null 2>&1 || apt_missing+=(ffmpeg)
# The other browser engines of tests-web/engines.test.mjs: Firefox ESR (WebDriver BiDi),
# WebKitGTK's WebKitWebDriver and MiniBrowser (under Xvfb), and PulseAudio, whose null
# sink gives their AudioContexts an output device.
# nginx: the proxy of the two-replica test of remotemedia serve (crates/cli/tests/nginx.rs).
for pkg in python3-dev python3-numpy python3-venv firefox-esr webkit2gtk-driver xvfb pulseaudio nginx; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || apt_missing+=("$pkg")
done
if [ ${#apt_missing[@]} -gt 0 ]; then
  say "installing ${apt_missing[*]} (apt)"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${apt_missing[@]}" >/dev/null
  # Debian starts nginx's own service on install; the tests run their own instances.
  if [[ " ${apt_missing[*]} " == *" nginx "* ]]; then
    as_root service nginx stop >/dev/null 2>&1 || as_root pkill -x nginx >/dev/null 2>&1 || true
  fi
fi

# PyPI's onnxruntime, the reference Silero VAD's Rust forward pass is tested against
# (crates/runtime/tests/silero.rs), ruff, the Python package's linter and formatter, and
# grpcio-tools, which generates a gRPC client from the original SDK's proto/ at test time
# (crates/server/tests/python_client.py), in a virtual environment of their own.
venv=target/onnx-venv
if ! "$venv/bin/python" -c "import onnxruntime, numpy, grpc_tools" >/dev/null 2>&1 || [ ! -x "$venv/bin/ruff" ]; then
  say "installing onnxruntime, grpcio-tools and ruff from PyPI into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check onnxruntime==1.32.0 numpy==2.4.6 ruff==0.14.0 grpcio-tools==1.85.1
fi

# Real speech with known text for the VAD noise corpus (crates/runtime/tests/vad_noise.rs,
# bench/vad-noise.mjs): the recordings PyPI's moonshine-voice wheel (MIT) ships, no weights.
speech=target/speech
if [ ! -f "$speech/beckett.wav" ]; then
  say "fetching moonshine-voice's speech recordings from PyPI into $speech"
  rm -rf "$speech.tmp" && mkdir -p "$speech.tmp"
  "$venv/bin/pip" download -q --disable-pip-version-check --no-deps --only-binary=:all: -d "$speech.tmp" moonshine-voice==0.1.5
  "$venv/bin/python" - "$speech.tmp" <<'PY'
import pathlib, sys, zipfile
tmp = pathlib.Path(sys.argv[1])
with zipfile.ZipFile(next(tmp.glob("*.whl"))) as whl:
    for name in whl.namelist():
        if name.startswith("moonshine_voice/assets/") and name.endswith(".wav"):
            (tmp / pathlib.Path(name).name).write_bytes(whl.read(name))
PY
  rm -f "$speech.tmp"/*.whl && rm -rf "$speech" && mv "$speech.tmp" "$speech"
fi

# npm dependencies of the workspace (audio-lena, pyodide, typescript, binaryen, playwright-core,
# and @ricky0123/vad-web, whose Silero VAD model the Rust forward pass reads).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ] || [ ! -d node_modules/pyodide ]; then
  say "installing npm dependencies"
  npm ci --no-audit --no-fund --loglevel=error
fi

# wasm-opt must be binaryen's from npm (132), never Debian's (108): put it first on PATH.
export PATH="$PWD/node_modules/.bin:$PATH"
say "building the SDK"
node js-sdk/scripts/build.mjs
say "ready"
