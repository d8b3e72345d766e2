#!/usr/bin/env bash
# One GPU-host call for expert-parallel MoE (issue 9) on 2 GPUs: the expert-range kernel test, the MoE op
# tests, TP=2 vs TP=1 with expert parallel and sliced experts, then the slice bench at 8K with both splits.
# Run from the repository root with binaries and bundled libraries in $1 (default build-ep-run); logs to $OUT.
set -uo pipefail
B=${1:-build-ep-run}
OUT=${OUT:-out}
source "$(dirname "$0")/gpu_run_env.sh"
summary() { grep -hE "^\[tp|\[  FAILED|Failure|PASSED|SKIP|validation|==|^[12] |scaling|context|MoE split" "$@" | cut -c1-300; }
if [[ -x $B/gpu_tp_moe_ep_test ]]; then  # single-GPU parts (first run)
  step ep_kernel 20 "$B/gpu_tp_moe_ep_test"
  step ops 20 "$B/gpu_cuda_ops_test" --gtest_filter='*Moe*'
  summary "$OUT"/ep_kernel.log "$OUT"/ops.log
fi
step backend 45 "$B/gpu_tp_backend_test" --gtest_filter='*Matches*'
summary "$OUT"/backend.log
step bench 50 "$B/tp_slice_bench" --context 8192 --decode-steps 32 --moe tp,ep --json "$OUT/bench.json"
summary "$OUT"/bench.log
if [[ -x $B/gpu_tp_golden_test ]]; then  # the default (expert parallel) through the backend's other tests
  step golden 20 "$B/gpu_tp_golden_test"
  step state 25 "$B/gpu_tp_state_test"
  summary "$OUT"/golden.log "$OUT"/state.log
fi
echo "total $((SECONDS - start)) s"
