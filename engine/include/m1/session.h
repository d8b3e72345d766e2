// A Session is one sequence's incremental state on one backend: every lightning layer's fp32 state,
// the softmax layers' KV cache and the position. Feeding tokens in any split gives the same logits.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <span>
#include <stdexcept>
#include <string>

#include "m1/config.h"
#include "m1/state_io.h"

namespace m1 {

// A token id outside [0, vocab) or a sequence past the context limit: the message says which.
struct InputError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// How the next token is chosen (the app's sampling settings).
struct SamplingOptions {
    double temperature = 1.0;  // M1's recommended 1.0; <= 0 means greedy
    double top_p = 1.0;        // nucleus mass (M1: 0.95); 1 disables
    int64_t top_k = 0;         // 0 disables
    uint64_t seed = 0;         // same seed, same logits -> same tokens
    bool greedy = false;       // argmax (lowest id wins a tie)
};

// A chosen token and its probability under the plain softmax of the logits (temperature 1, before
// top-k / top-p), which M1's repetition guard uses.
struct TokenPick {
    int32_t id = 0;
    double prob = 0;
};

// Progress of a prefill: tokens done, tokens in all.
using ProgressFn = std::function<void(int64_t done, int64_t total)>;

class Session {
public:
    virtual ~Session() = default;
    virtual const ModelConfig& config() const = 0;
    virtual const std::string& fingerprint() const = 0;  // the model's
    virtual std::string device() const = 0;              // "cpu", "cuda:0", "cuda:0,1"
    virtual int64_t position() const = 0;                // tokens consumed so far

    // Consumes ids as one chunk. If all_logits is non-null it receives the logits of every consumed
    // position, [ids.size(), vocab] row-major fp32. The last position's logits stay in logits().
    // Throws InputError for an id >= vocab (state unchanged).
    virtual void forward(std::span<const int32_t> ids, float* all_logits = nullptr) = 0;
    // Logits [vocab] after the last consumed token; empty before the first. A backend may keep them on its
    // device until asked (the CUDA backend copies them on the first call after a forward).
    virtual std::span<const float> logits() const = 0;
    // The token that follows the last consumed one, as Sampler (generate.h) picks it from logits() for its
    // draw number `step` (greedy: argmax, the lowest id on a tie; otherwise seeded by (seed, step)). The
    // CUDA backend picks on its GPU, inside the decode step's graph when the previous call's options and
    // step + 1 predicted this one, and copies only the choice. Throws InputError before anything was fed.
    virtual TokenPick pick_next(const SamplingOptions& opts, uint64_t step);
    virtual void reset() = 0;  // back to position 0

    // The whole state as a byte stream (see state_format.h); import refuses another model's or
    // another layout version's state with StateFormatError, leaving the session unchanged.
    virtual void export_state(ByteSink& sink) const = 0;
    virtual void import_state(ByteSource& source) = 0;

    // Feeds ids in chunks of chunk_size, calling progress after each and checking cancel before
    // each. Returns false when cancelled (the state then ends at a chunk boundary, position() says
    // where). all_logits as in forward(), for all of ids.
    bool prefill(std::span<const int32_t> ids, int64_t chunk_size = 2048, const ProgressFn& progress = {},
                 const std::atomic<bool>* cancel = nullptr, float* all_logits = nullptr);
};

}  // namespace m1
