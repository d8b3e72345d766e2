#!/usr/bin/env bash
# One GPU-host call for the lightning prefill kernels (issue 8, item 1): the op test against the CPU recurrence,
# compute-sanitizer memcheck on its short cases, the engine golden test and the head-dim-128 backend tests, then
# the benchmark (every kernel, our sequential walk, the copy ceiling) and the torch peer in the same command.
# Run from the repository root with the binaries (flat) and bundled libraries in $1/lib; logs and JSON go to $OUT.
# QUICK=1: no memcheck, the bench's --quick mode (impl 3-6 only, no decode). NCU=1 profiles one launch of impl
# NCU_IMPL (default 6) at NCU_T tokens (default 131072).
set -uo pipefail
B=${1:-build-lightning-run}
OUT=${OUT:-out}
source "$(dirname "$0")/gpu_run_env.sh"
step test 100 "$B/gpu_lightning_prefill_test"
if ! grep -qE "^\[  (PASSED|FAILED)  \]" "$OUT/test.log"; then  # timed out or crashed: a hang would burn the call
  tail -20 "$OUT/test.log"; echo "op test did not finish: stopping"; exit 1
fi
[ "${QUICK:-0}" = 1 ] || step memcheck 150 compute-sanitizer --tool memcheck "$B/gpu_lightning_prefill_test" \
  --gtest_filter='*ManyChunksWithInitialState*:*DefaultChunkNoState*:*OneTokenAndTinyChunks*:*ContinueStateInPlace*:*SinglePassManyRounds*'
step golden 120 "$B/gpu_cuda_golden_test"
step backend 150 "$B/gpu_cuda_backend_test" --gtest_filter='*SplitKDecodeMatchesPrefill*:*Chunking*'
grep -hE "PASSED|FAILED|Failure|ERROR SUMMARY|LEAK" "$OUT"/*.log | cut -c1-200
grep -E "impl=[5-8]" "$OUT/test.log" | cut -c1-170 | head -8
step bench 200 "$B/lightning_bench" --json "$OUT/bench.json" --quick "${QUICK:-0}"
grep -vE "^decode|lightning_decode" "$OUT/bench.log" | cut -c1-200
step torch 120 python3 tests/tools/torch_lightning_peer.py --json "$OUT/torch.json"
tail -8 "$OUT/torch.log"
if [ "${NCU:-0}" = 1 ]; then
  step ncu 120 ncu --clock-control none -k regex:stream_kernel -c 1 --section SpeedOfLight --section WarpStateStats \
    "$B/lightning_bench" --profile "${NCU_IMPL:-6}" --max-tokens "${NCU_T:-131072}"
  grep -vE "^==PROF==|^ *$" "$OUT/ncu.log" | cut -c1-160 | tail -60
fi
echo "total $((SECONDS - start)) s"
