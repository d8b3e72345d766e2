#!/usr/bin/env bash
# One GPU-host call that runs every GPU test program of a build (tests/gpu/gpu_*_test) one after another,
# each bounded (exit 77 = skipped, e.g. a TP test on one GPU), and ends with "N passed, N failed, N skipped" like packaging/test.sh. Usage on the host:
#   B=build-verify-run OUT=$OUT bash tests/bench/gpu_suite_run.sh
# where $B/bin.tgz holds bin/ (the stripped test programs) and lib/ (tests/tools/gpu-bundle.sh).
set -u
tar xzf "$B/bin.tgz" -C "$B"
source tests/bench/gpu_run_env.sh
passed=0 failed=0 skipped=0
for t in "$B"/bin/gpu_*_test; do
  name=$(basename "$t")
  timeout 300 "$t" >"$OUT/$name.log" 2>&1
  rc=$?
  if [ "$rc" -eq 77 ]; then
    skipped=$((skipped + 1)); echo "  $name: skipped ($(tail -1 "$OUT/$name.log"))"
  elif [ "$rc" -eq 0 ]; then
    passed=$((passed + 1)); echo "  $name: passed ($(grep -c '^\[       OK \]' "$OUT/$name.log") tests)"
  else
    failed=$((failed + 1)); echo "  $name: FAILED (rc=$rc)"; grep -E '^\[  FAILED  \]|Failure' "$OUT/$name.log" | head -20
  fi
done
echo "$passed passed, $failed failed, $skipped skipped"
