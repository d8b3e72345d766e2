#!/usr/bin/env bash
# One GPU-host call for the softmax attention prefill kernels (issue 8, item 3): the op test against the CPU
# reference, compute-sanitizer memcheck on its short cases, the engine tests that run the kernel at head dim 128,
# then the benchmark beside torch's SDPA backends (cuDNN, flash) in the same command. Run from the repository
# root with the binaries (flat) and bundled libraries in $1/lib; logs and JSON go to $OUT.
# Environment: IMPLS (kernels to time up to 128K, default 24), IMPLS_1M (default 4; empty skips 1M),
# NCU=1 profiles one launch of impl NCU_IMPL (default 4) at NCU_T tokens (default 32768).
set -uo pipefail
B=${1:-build-attn-run}
OUT=${OUT:-out}
IMPLS=${IMPLS:-24}
IMPLS_1M=${IMPLS_1M-4}
source "$(dirname "$0")/gpu_run_env.sh"
step test 300 "$B/gpu_attention_prefill_test"
step memcheck 300 compute-sanitizer --tool memcheck "$B/gpu_attention_prefill_test" \
  --gtest_filter='*FirstChunk*:*LaterChunk*:*TwoKv*'
step backend 300 "$B/gpu_cuda_backend_test" --gtest_filter='*SplitKDecodeMatchesPrefill*:*Chunking*'
step golden 120 "$B/gpu_cuda_golden_test"
grep -hE "err|head dim 128|PASSED|FAILED|Failure|ERROR SUMMARY|LEAK" "$OUT"/test.log "$OUT"/memcheck.log \
  "$OUT"/backend.log "$OUT"/golden.log | grep -vE "^\[ +(RUN|OK) " | cut -c1-200
step bench 300 "$B/attention_bench" --parts p --impls "$IMPLS" --max-tokens 131072 --json "$OUT/bench.json"
grep -E "impl=|FAILED|attn_" "$OUT/bench.log"
if [ -n "$IMPLS_1M" ]; then
  step bench_1m 300 "$B/attention_bench" --parts p --impls "$IMPLS_1M" --min-tokens 1048576 --json "$OUT/bench_1m.json"
  grep -E "impl=|FAILED|attn_" "$OUT/bench_1m.log"
fi
MAXT=131072
[ -n "$IMPLS_1M" ] && MAXT=1048576
step torch 400 python3 tests/tools/torch_attention_peer.py --parts p --backends cudnn,flash --max-tokens $MAXT \
  --json "$OUT/torch.json"
grep -E "prefill|Error" "$OUT/torch.log"
if [ "${NCU:-0}" = 1 ]; then
  step ncu 120 ncu --clock-control none -k regex:ws_kernel -c 1 --section SpeedOfLight --section WarpStateStats \
    --section ComputeWorkloadAnalysis --section MemoryWorkloadAnalysis --section Occupancy \
    "$B/attention_bench" --parts p --impls "${NCU_IMPL:-4}" --min-tokens "${NCU_T:-32768}" --max-tokens "${NCU_T:-32768}" \
    --json /tmp/ncu_bench.json
  grep -vE "^==PROF==|^ *$" "$OUT/ncu.log" | cut -c1-160 | tail -90
fi
