#!/usr/bin/env bash
# GPU-host calls for multi-GPU decode graphs and prefill overlap (issue 9) on 2 GPUs. Run from the repository root
# with $1/bin.tgz (binaries and lib/, default build-mgpu-run); logs to $OUT.
#   PART=1 (default): the GPU-to-GPU collectives; captured decode and overlapped prefill against NCCL step by step
#     and one GPU; the slice bench at 8K and 32K with every TP variant (before / profile / graphs / overlap blocks)
#     beside TP=1; the other TP and NCCL tests.
#   PART=2: the slice bench with the defaults beside "before" (8K, 32K); a 32-layer slice with each GPU's per-layer
#     share of M1 on 8 GPUs (--share 4), where launching is a larger part of a decode step; the all-reduce bench
#     with the GPU-to-GPU decode collectives beside NCCL's.
set -uo pipefail
B=${1:-build-mgpu-run}
OUT=${OUT:-out}
PART=${PART:-1}
tar xzf "$B/bin.tgz" -C "$B"
source "$(dirname "$0")/gpu_run_env.sh"
summary() { grep -hE "^\[tp|\[  FAILED|Failure|PASSED|CommError|SKIP|validation|==|^[12] |scaling|context|TP variant|^(before|profile|graphs)|slice" "$@" | cut -c1-300; }
if [[ $PART == 1 ]]; then
  step peer 40 "$B/gpu_tp_peer_test"
  step graph 90 "$B/gpu_tp_graph_test"
  summary "$OUT"/peer.log "$OUT"/graph.log
  step bench 150 "$B/tp_slice_bench" --context 8192,32768 --decode-steps 64 --moe ep --variants all --json "$OUT/bench.json"
  summary "$OUT"/bench.log
  step backend 90 "$B/gpu_tp_backend_test"
  step golden 30 "$B/gpu_tp_golden_test"
  step state 45 "$B/gpu_tp_state_test"
  step ep 30 "$B/gpu_tp_moe_ep_test"
  step comm 60 "$B/gpu_nccl_comm_test"
  summary "$OUT"/backend.log "$OUT"/golden.log "$OUT"/state.log "$OUT"/ep.log "$OUT"/comm.log
else
  step deep 90 "$B/tp_slice_bench" --lightning 28 --softmax 4 --experts 8 --share 4 --context 8192 --decode-steps 64 \
    --moe ep --variants before,profile,graphs --json "$OUT/deep.json"
  summary "$OUT"/deep.log
  step bench 90 "$B/tp_slice_bench" --context 8192,32768 --decode-steps 64 --moe ep --variants before --json "$OUT/bench.json"
  summary "$OUT"/bench.log
  M1_NCCL_BLOCKING=1 step allreduce 60 "$B/allreduce_bench" --json "$OUT/allreduce.json"
  cat "$OUT"/allreduce.log
fi
echo "total $((SECONDS - start)) s"
