#!/usr/bin/env bash
# Copies the shared libraries that a GPU host lacks (OpenBLAS and its Fortran runtime, PCRE2, xxHash, GoogleTest
# is static) into BUILD_DIR/lib, so a build made here runs there with LD_LIBRARY_PATH=BUILD_DIR/lib.
set -euo pipefail
build=${1:?usage: gpu-bundle.sh BUILD_DIR}
mkdir -p "$build/lib"
for bin in "$build"/app/m1 "$build"/tests/*/*_test "$build"/tests/*/*/*_test "$build"/tests/*/*bench* "$build"/bench/*; do
  [ -x "$bin" ] || continue
  ldd "$bin" 2>/dev/null | awk '/=> \//{print $3}' | grep -E 'openblas|gfortran|quadmath|pcre2|xxhash|libgomp' || true
done | sort -u | while read -r lib; do cp -L "$lib" "$build/lib/"; done
ls "$build/lib"
