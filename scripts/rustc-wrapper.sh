#!/bin/sh
# RUSTC_WRAPPER for scripts/test.sh. Cargo learns a target's properties by running
# `rustc - --crate-name ___ --print=...` on empty input from a pipe. On fresh clones of
# this repository that probe, several times and at random points of a run, read another
# compiler's error text as its input and failed ("failed to run `rustc` to learn about
# target-specific information"); not understood. Here the probe reads /dev/null instead.
# Everything else, build scripts' own probes included, runs unchanged.
probe=0
for arg in "$@"; do
  if [ "$arg" = "___" ]; then probe=1; fi
done
if [ "$probe" = 1 ]; then exec "$@" < /dev/null; fi
exec "$@"
