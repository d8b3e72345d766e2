#!/usr/bin/env bash
# One GPU-host call for the decode path (issue 8): the LM-head op test (and memcheck), the golden fixtures on one
# GPU and on two (when present), the backend and op tests, the LM-head benchmark, the M1-width slice at 8K and
# 128K beside transformers, then one decode step's kernels under ncu. Run from the repository root with the
# binaries and bundled libraries in $1 (default build-e2run); logs and JSON go to $OUT.
set -uo pipefail
B=${1:-build-e2run}
OUT=${OUT:-out}
CTX=${CTX:-8192,131072}
source "$(dirname "$0")/gpu_run_env.sh"
summary() { grep -hE "^\[lm_head|PASSED|FAILED|Failure|SKIP|ERROR SUMMARY|validation|ctx|decode,|plan|GPU|copy|LM head|router|TP=|transformers|Error" "$@" | cut -c1-300; }
step lm_head_test 120 "$B/gpu_lm_head_test"
step memcheck 120 compute-sanitizer --tool memcheck "$B/gpu_lm_head_test" --gtest_filter='*FewRows*:*Widen*'
step golden 60 "$B/gpu_cuda_golden_test"
step tp_golden 90 "$B/gpu_tp_golden_test"
step backend 120 "$B/gpu_cuda_backend_test"
step ops 90 "$B/gpu_cuda_ops_test"
summary "$OUT"/lm_head_test.log "$OUT"/memcheck.log "$OUT"/golden.log "$OUT"/tp_golden.log "$OUT"/backend.log "$OUT"/ops.log
step lm_head 120 "$B/lm_head_bench" --json "$OUT/lm_head.json"
summary "$OUT"/lm_head.log
step slice 240 "$B/e2e_slice_bench" --contexts "$CTX" --json "$OUT/slice.json"
summary "$OUT"/slice.log
step slice_torch 300 python3 tests/tools/torch_slice_peer.py --contexts "$CTX" --json "$OUT/slice_torch.json"
summary "$OUT"/slice_torch.log
step ncu 100 ncu --profile-from-start off --clock-control none --metrics gpu__time_duration.sum --csv \
  "$B/e2e_slice_bench" --contexts 8192 --decode-steps 2 --profile-step
python3 tests/tools/ncu_kernel_table.py "$OUT/ncu.log" | tee "$OUT/ncu_table.txt"
echo "total $((SECONDS - start)) s"
# At most 8 files come back from the device machine: everything in one archive.
tar czf /tmp/decode_run.tgz -C "$OUT" . && rm -f "$OUT"/* && mv /tmp/decode_run.tgz "$OUT/"
