// Single-pass lightning prefill (impl 2 of lightning_prefill): host entry points used by the dispatcher
// in lightning_prefill.cu. Not a public header: call m1::cuda::lightning_prefill.
#pragma once
#include "kernels/lightning_prefill.cuh"

#include <cstddef>

namespace m1::cuda::lightning {

// Workspace of the single-pass kernel: per head, two rounds of bf16 chunk states, two fp32 round states
// and the flags.
std::size_t single_pass_workspace_bytes(int tokens, int heads);
// Launches the single-pass kernel (a memset of its flags, then one cooperative launch) and returns true;
// returns false, launching nothing, where the GPU cannot hold one CTA per head at once.
bool single_pass_prefill(const LightningPrefillParams& p, void* workspace, std::size_t workspace_bytes,
                         cudaStream_t stream);

}  // namespace m1::cuda::lightning
