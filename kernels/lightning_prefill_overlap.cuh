// Single-pass lightning prefill with the state-update walk beside the output walk (impl 9): host entry points used
// by the dispatcher in lightning_prefill.cu. Not a public header: call m1::cuda::lightning_prefill.
#pragma once
#include "kernels/lightning_prefill.cuh"

#include <cstddef>

namespace m1::cuda::lightning {

// Workspace of the overlap kernel: per head, two rounds' fp32 and bf16 chunk-state slots for up to 32 CTAs, the
// fp32 running state of the scan, two counters, and a read flag per CTA.
std::size_t overlap_workspace_bytes(int tokens, int heads);
// Launches the overlap kernel (a memset of its counters, then one cooperative launch) and returns true; returns
// false, launching nothing, where the GPU cannot hold one of its CTAs per SM for every head at once.
bool overlap_prefill(const LightningPrefillParams& p, void* workspace, std::size_t workspace_bytes,
                     cudaStream_t stream);

}  // namespace m1::cuda::lightning
