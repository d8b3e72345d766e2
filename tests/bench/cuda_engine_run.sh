#!/usr/bin/env bash
# One GPU-host call for the CUDA engine (issue 8): correctness tests, memcheck on the golden fixtures, the MoE
# kernel table beside torch, and the M1-width slice beside transformers. Run from the repository root with the
# binaries and bundled libraries in $1 (default build-e2b-run); logs and JSON go to $OUT (default ./out).
set -uo pipefail
B=${1:-build-e2b-run}
OUT=${OUT:-out}
source "$(dirname "$0")/gpu_run_env.sh"
step golden 120 "$B/gpu_cuda_golden_test"
step backend 300 "$B/gpu_cuda_backend_test"
step ops 180 "$B/gpu_cuda_ops_test"
step memcheck 240 compute-sanitizer --tool memcheck "$B/gpu_cuda_golden_test" --gtest_filter='*LogitsMatch*'
grep -E "seed|prompts route|head dim 128|chunk|PASSED|FAILED|Failure|ERROR SUMMARY|\[  FAILED" "$OUT"/golden.log "$OUT"/backend.log "$OUT"/ops.log "$OUT"/memcheck.log | cut -c1-400
step moe 240 "$B/moe_bench" --json "$OUT/moe_bench.json"
cat "$OUT/moe.log"
step moe_torch 240 python3 tests/tools/torch_moe_peer.py --json "$OUT/moe_torch.json"
cat "$OUT/moe_torch.log"
step slice 300 "$B/e2e_slice_bench" --contexts 8192,32768,131072 --json "$OUT/slice.json"
grep -E "ctx|validation|plan" "$OUT/slice.log"
step slice_torch 420 python3 tests/tools/torch_slice_peer.py --contexts 8192,32768,131072 --json "$OUT/slice_torch.json"
grep -E "ctx|transformers|Error" "$OUT/slice_torch.log"
step slice7 300 "$B/e2e_slice_bench" --lightning 7 --contexts 8192,32768,131072 --json "$OUT/slice7.json"
grep -E "ctx|validation|plan" "$OUT/slice7.log"
