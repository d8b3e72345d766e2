// Next-token choice on the GPU from one row of fp32 logits: greedy argmax, or temperature + top-k + top-p
// sampling with a counter-based random number (seed, step), so a run is reproducible without host state.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace m1::kern {

struct SampleParams {
    float temperature = 1.f;  // <= 0 means greedy
    int top_k = 0;            // 0 = off
    float top_p = 1.f;        // >= 1 = off
    uint64_t seed = 0;
    bool greedy = false;
};

// Writes the chosen id to *out (device). step: the decode step index, mixed into the random stream.
// Greedy: the lowest index among the maximal logits. Sampling keeps the tokens whose logit is at least the
// k-th largest (ties at the boundary kept), then the most probable of those whose mass reaches top_p
// (ties kept), and draws from them in proportion to exp(logit / T).
void sample_token(const float* logits, int V, const SampleParams& p, uint64_t step, int32_t* out,
                  cudaStream_t stream);

// The uniform number in [0, 1) that sample_token draws for (seed, step); exposed for tests.
double sample_uniform(uint64_t seed, uint64_t step);

// A chosen token and its probability under the plain softmax of the logits (temperature 1, before top-k /
// top-p), which the repetition guard needs; written on the device.
struct TokenChoice {
    int32_t id;
    float prob;
};

// Scratch that pick_token needs (partial results of its blocks and a ticket); zero it once before the first
// use, every call leaves it ready for the next (so the pick can sit inside a replayed CUDA graph).
std::size_t pick_scratch_bytes();

// sample_token plus the chosen token's plain probability. Greedy is one launch over many blocks (max, lowest
// index of the max and the softmax sum, merged by the last block), no single-block pass over the logits.
void pick_token(const float* logits, int V, const SampleParams& p, uint64_t step, void* scratch, TokenChoice* out,
                cudaStream_t stream);

}  // namespace m1::kern
