// Single-pass lightning prefill on warpgroup walks (impl 4; with bulk-copy loads 6, and overlap 8): host entry
// points used by the dispatcher in lightning_prefill.cu. Not a public header: call m1::cuda::lightning_prefill.
#pragma once
#include "kernels/lightning_prefill.cuh"

#include <cstddef>

namespace m1::cuda::lightning {

// Workspace of the stream kernel: per head, fp32 and bf16 chunk-state slots for up to 32 CTAs, the fp32 running
// state of the scan, and two counters.
std::size_t stream_workspace_bytes(int tokens, int heads);
// Launches the stream kernel (a memset of its counters, then one cooperative launch) and returns true; returns
// false, launching nothing, where the GPU cannot hold one CTA per head at once. `tma`: tiles by bulk copies;
// `overlap` (with tma): the output walk masks P while Q·S runs.
bool stream_prefill(const LightningPrefillParams& p, void* workspace, std::size_t workspace_bytes,
                    cudaStream_t stream, bool tma = false, bool overlap = false);

}  // namespace m1::cuda::lightning
