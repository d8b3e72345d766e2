#!/usr/bin/env bash
# One GPU-host call for the lightning prefill kernels (issue 8, item 1): the op test against the CPU recurrence,
# compute-sanitizer memcheck on its short cases, the engine golden test and the head-dim-128 backend tests, then
# the benchmark (every kernel, our sequential walk, the copy ceiling) and the torch peer in the same command.
# Run from the repository root with the binaries (flat) and bundled libraries in $1/lib; logs and JSON go to $OUT.
# QUICK=1: memcheck on impl 9's cases only, the bench's --quick mode (impl 3-6 and 9, no decode). IMPLS=569:
# the bench validates and times only these kernels (and the torch peer is skipped). The engine tests run where
# their binaries are in $1. NCU=1 profiles one launch of each impl in NCU_IMPL (default 6; single passes only) at
# NCU_T tokens (default 131072).
set -uo pipefail
B=${1:-build-lightning-run}
OUT=${OUT:-out}
source "$(dirname "$0")/gpu_run_env.sh"
step test 100 "$B/gpu_lightning_prefill_test"
if ! grep -qE "^\[  (PASSED|FAILED)  \]" "$OUT/test.log"; then  # timed out or crashed: a hang would burn the call
  tail -20 "$OUT/test.log"; echo "op test did not finish: stopping"; exit 1
fi
MEMCHECK_FILTER='*ManyChunksWithInitialState*:*DefaultChunkNoState*:*OneTokenAndTinyChunks*:*ContinueStateInPlace*:*SinglePassManyRounds*:*TwoWalks*'
if [ "${QUICK:-0}" = 1 ]; then  # the new kernel's cases (LP_IMPLS: the op test runs only impl 9)
  step memcheck 150 env LP_IMPLS=9 compute-sanitizer --tool memcheck "$B/gpu_lightning_prefill_test" --gtest_filter="$MEMCHECK_FILTER"
else
  step memcheck 200 compute-sanitizer --tool memcheck "$B/gpu_lightning_prefill_test" --gtest_filter="$MEMCHECK_FILTER"
fi
[ -x "$B/gpu_cuda_golden_test" ] && step golden 120 "$B/gpu_cuda_golden_test"
[ -x "$B/gpu_cuda_backend_test" ] && step backend 150 "$B/gpu_cuda_backend_test" --gtest_filter='*SplitKDecodeMatchesPrefill*:*Chunking*'
grep -hE "PASSED|FAILED|Failure|ERROR SUMMARY|LEAK" "$OUT"/*.log | cut -c1-200
grep -E "impl=[5-9]" "$OUT/test.log" | cut -c1-170 | head -8
grep -E "impl=9" "$OUT/test.log" | cut -c1-170
step bench 240 "$B/lightning_bench" --json "$OUT/bench.json" --quick "${QUICK:-0}" ${IMPLS:+--impls "$IMPLS"}
grep -vE "^decode|lightning_decode" "$OUT/bench.log" | cut -c1-200
if [ -z "${IMPLS:-}" ]; then  # the torch peer with the full comparison only
  step torch 120 python3 tests/tools/torch_lightning_peer.py --json "$OUT/torch.json"
  tail -8 "$OUT/torch.log"
fi
if [ "${NCU:-0}" = 1 ]; then  # one launch of each of NCU_IMPL (e.g. "9 6"); SourceCounters: the hottest stall lines
  for i in ${NCU_IMPL:-6}; do
    step ncu_$i 150 ncu --clock-control none -k regex:'stream_kernel|overlap_kernel' -c 1 --section SpeedOfLight \
      --section MemoryWorkloadAnalysis --section WarpStateStats --section SourceCounters \
      "$B/lightning_bench" --profile "$i" --max-tokens "${NCU_T:-131072}"
    grep -vE "^==PROF==|^ *$|^    -{5}" "$OUT/ncu_$i.log" | cut -c1-160 | head -90
  done
fi
echo "total $((SECONDS - start)) s"
