// Sampling and the generation loop: temperature / top-k / top-p / seed / greedy, stop tokens, a token
// limit, M1's repetition guard, a streaming callback and cancellation between tokens and prefill chunks.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "m1/session.h"

namespace m1 {

// SamplingOptions and TokenPick live in session.h (a Session picks tokens too).

// The choice from one row of logits for draw number `step`: greedy takes the argmax (lowest id on a tie).
// Otherwise the kept set is every token whose logit reaches the k-th largest (ties kept), narrowed to the
// most probable ones whose mass under exp(logit / T) reaches top_p of the kept mass (ties kept), and the
// draw walks it in id order against u * mass, u uniform in [0, 1) from (seed, step): the rule the CUDA
// backend's kernel follows, so both backends choose alike up to rounding.
TokenPick pick_token(std::span<const float> logits, const SamplingOptions& opts, uint64_t step);

// The uniform number in [0, 1) drawn for (seed, step); the same bits as the GPU's kern::sample_uniform.
double sample_uniform(uint64_t seed, uint64_t step);

// Picks tokens from logits, draw after draw (step 0, 1, ...); deterministic for a seed.
class Sampler {
public:
    explicit Sampler(const SamplingOptions& opts);
    // Returns the chosen id; *p_chosen (if non-null) receives its probability under the plain
    // softmax of the logits (temperature 1, before top-k/top-p), which the repetition guard uses.
    int32_t sample(std::span<const float> logits, double* p_chosen = nullptr);

private:
    SamplingOptions opts_;
    uint64_t step_ = 0;
};

enum class StopReason { StopToken, MaxTokens, RepetitionGuard, Cancelled, CallbackStop };
const char* stop_reason_name(StopReason r);  // "stop_token", "max_tokens", "repetition_guard", ...

struct GenerateOptions {
    SamplingOptions sampling;
    int64_t max_tokens = 1024;              // M1-80k writes up to 80,000
    std::vector<int32_t> stop_ids;          // e.g. 200020 <end_of_sentence>
    int64_t prefill_chunk = 2048;
    // M1's RL stopped a rollout after this many consecutive tokens each with p > guard_p; 0 disables.
    int64_t repetition_guard_tokens = 3000;
    double repetition_guard_p = 0.99;
};

struct GenerateResult {
    std::vector<int32_t> ids;  // generated ids, a stop token included when that was the reason
    StopReason reason = StopReason::MaxTokens;
    int64_t prompt_tokens = 0;
    double prefill_seconds = 0, decode_seconds = 0;  // wall clock
};

// Called with each token as soon as it is sampled; return false to stop (reason CallbackStop).
using TokenCallback = std::function<bool(int32_t id)>;

// Feeds the prompt (in prefill_chunk pieces, progress reported), then samples until a stop. The
// session must be positioned where the prompt continues (fresh, or after an imported state). An empty
// prompt continues from the session's last logits. The last generated token is NOT fed to the
// session: position() == start + prompt + ids.size() - 1 (feed it yourself to extend the state).
GenerateResult generate(Session& session, std::span<const int32_t> prompt, const GenerateOptions& opts,
                        const TokenCallback& on_token = {}, const std::atomic<bool>* cancel = nullptr,
                        const ProgressFn& prefill_progress = {});

}  // namespace m1
