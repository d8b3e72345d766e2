#!/usr/bin/env bash
# One GPU-host call that runs every GPU test program of a build (tests/gpu/gpu_*_test) one after another,
# each bounded, and ends with "N passed, N failed, N skipped" like packaging/test.sh. Usage on the host:
#   B=build-verify-run OUT=$OUT bash tests/bench/gpu_suite_run.sh
# where $B/bin.tgz holds bin/ (the stripped test programs) and lib/ (tests/tools/gpu-bundle.sh).
set -u
tar xzf "$B/bin.tgz" -C "$B"
source tests/bench/gpu_run_env.sh
passed=0 failed=0 skipped=0
for t in "$B"/bin/gpu_*_test; do
  name=$(basename "$t")
  step "$name" 300 "$t"
  if grep -q '^\[  PASSED  \]' "$OUT/$name.log" && ! grep -q '^\[  FAILED  \]' "$OUT/$name.log"; then
    if grep -q '^\[  SKIPPED \]' "$OUT/$name.log" && ! grep -q '^\[       OK \]' "$OUT/$name.log"; then
      skipped=$((skipped + 1)); echo "  $name: skipped"
    else
      passed=$((passed + 1)); echo "  $name: passed ($(grep -c '^\[       OK \]' "$OUT/$name.log") tests)"
    fi
  else
    failed=$((failed + 1)); echo "  $name: FAILED"; grep -E '^\[  FAILED  \]|Failure|error' "$OUT/$name.log" | head -20
  fi
done
echo "$passed passed, $failed failed, $skipped skipped"
