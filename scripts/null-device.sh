# Sourced by setup.sh and test.sh: make sure /dev/null is the null device.
#
# On some machines this project runs on (CI included), /dev/null has been found to be a
# regular file. Everything then still "works" until something reads it: a build script's
# compiler probe writes its error text into it (Rust's `Stdio::null()` opens it without
# truncating), and cargo's next probe of a target reads that text as its source and fails
# with "failed to run `rustc` to learn about target-specific information", at random
# points of a run. The fix is the device itself, created beside it and renamed over it
# (a rename is atomic, so no writer sees it missing). Without the rights to do that, the
# file is emptied and a warning says what to do.
ensure_null_device() {
  [ -c /dev/null ] && return 0
  echo "WARNING: /dev/null is not the null device but a $(stat -c %F /dev/null 2>/dev/null || echo 'missing file'); recreating it (char device 1,3)" >&2
  local as_root=""
  [ "$(id -u)" = 0 ] || as_root="sudo"
  if $as_root mknod -m 666 /dev/.null.remotemedia c 1 3 && $as_root mv -f /dev/.null.remotemedia /dev/null && [ -c /dev/null ]; then
    return 0
  fi
  # Not fatal: emptied, it reads as nothing until something writes to it again.
  : > /dev/null 2>&1 || true
  echo "WARNING: could not recreate /dev/null (mknod needs root and CAP_MKNOD); cargo may fail with \"failed to run \`rustc\` to learn about target-specific information\" when a build script has written to it. Recreate it: mknod -m 666 /dev/null c 1 3" >&2
}
ensure_null_device
