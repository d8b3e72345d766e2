#!/usr/bin/env bash
# One GPU-host call for multi-GPU (issue 9) on 2 GPUs: TP state round trips, TP=2 on the golden fixtures,
# TP=2 vs TP=1 and the fault tests (blocking communicators, the default), the slice bench at 8K and 32K with
# one rank's share alone, then if time allows the NCCL layer's tests, the fault tests with non-blocking
# communicators and TP=2 vs TP=1 with bf16 all-reduces. Run from the repository root with binaries and
# bundled libraries in $1 (default build-mgpu-run); logs go to $OUT.
set -uo pipefail
B=${1:-build-mgpu-run}
OUT=${OUT:-out}
BUDGET=${BUDGET:-110}  # seconds: optional steps are skipped past it
source "$(dirname "$0")/gpu_run_env.sh"
summary() { grep -hE "^\[tp|\[  FAILED|Failure|PASSED|CommError|SKIP|validation|==|^[12] |scaling|context|share|rank" "$@" | cut -c1-300; }
step state 45 "$B/gpu_tp_state_test"
step golden 30 "$B/gpu_tp_golden_test"
step backend 60 "$B/gpu_tp_backend_test"
summary "$OUT"/state.log "$OUT"/golden.log "$OUT"/backend.log
step bench 70 "$B/tp_slice_bench" --context 8192,32768 --decode-steps 32 --rank-alone --json "$OUT/bench.json"
summary "$OUT"/bench.log
if (( SECONDS - start < BUDGET )); then
  step comm 40 "$B/gpu_nccl_comm_test"
  M1_NCCL_BLOCKING=0 step faults_nonblocking 30 "$B/gpu_tp_backend_test" --gtest_filter='*Stalled*:*OutOfMemory*'
  summary "$OUT"/comm.log "$OUT"/faults_nonblocking.log
fi
if (( SECONDS - start < BUDGET )); then
  M1_TP_REDUCE=bf16 step match_bf16 30 "$B/gpu_tp_backend_test" --gtest_filter='*Matches*'
  summary "$OUT"/match_bf16.log
fi
echo "total $((SECONDS - start)) s"
