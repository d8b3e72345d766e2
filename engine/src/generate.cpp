// Sampling (greedy, temperature, top-k, top-p, seeded) and the generation loop with stop tokens, a
// token limit, M1's repetition guard, streaming and cancellation.
#include "m1/generate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>

namespace m1 {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Plain softmax probability of one entry (temperature 1), for the repetition guard.
double plain_prob(std::span<const float> logits, int32_t id) {
    float mx = *std::max_element(logits.begin(), logits.end());
    double sum = 0;
    for (float l : logits) sum += std::exp(double(l) - double(mx));
    return std::exp(double(logits[size_t(id)]) - double(mx)) / sum;
}

uint64_t mix64(uint64_t z) {  // splitmix64's finaliser, as kernels/sampling.cu has it
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

// The largest logit t such that the candidates c with logit >= t carry at least `want` of exp((l - mx) / T):
// the floor of the nucleus. The sorted prefix of c grows until it holds that mass.
float nucleus_floor(std::vector<float>& c, double want, float mx, double invT) {
    if (c.empty()) return -INFINITY;
    const auto desc = std::greater<float>();
    size_t n = std::min<size_t>(c.size(), 64);
    for (;;) {
        std::partial_sort(c.begin(), c.begin() + std::ptrdiff_t(n), c.end(), desc);
        double cum = 0;
        for (size_t i = 0; i < n; ++i) {
            cum += std::exp((double(c[i]) - double(mx)) * invT);
            if (cum >= want) return c[i];
        }
        if (n == c.size()) return c[n - 1];  // rounding: keep them all
        n = std::min(c.size(), n * 4);
    }
}

}  // namespace

double sample_uniform(uint64_t seed, uint64_t step) { return double(mix64(seed ^ mix64(step)) >> 11) * 0x1.0p-53; }

TokenPick pick_token(std::span<const float> logits, const SamplingOptions& opts, uint64_t step) {
    const size_t V = logits.size();
    if (V == 0) throw InputError("sampling from empty logits (nothing has been fed to the session)");
    const float mx = *std::max_element(logits.begin(), logits.end());
    int32_t chosen = int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());  // first max wins
    if (!opts.greedy && opts.temperature > 0) {
        const double invT = 1.0 / opts.temperature;
        auto weight = [&](float l) { return std::exp((double(l) - double(mx)) * invT); };
        float floor = -INFINITY;  // kept: logit >= floor
        std::vector<float> c;
        if (opts.top_k > 0 && size_t(opts.top_k) < V) {  // the k-th largest logit; its ties stay in
            c.assign(logits.begin(), logits.end());
            std::nth_element(c.begin(), c.begin() + (opts.top_k - 1), c.end(), std::greater<float>());
            floor = c[size_t(opts.top_k - 1)];
        }
        if (opts.top_p < 1.0) {
            c.clear();
            double mass = 0;
            for (float l : logits)
                if (l >= floor) {
                    c.push_back(l);
                    mass += weight(l);
                }
            floor = nucleus_floor(c, opts.top_p * mass, mx, invT);
        }
        double kept = 0;
        for (float l : logits)
            if (l >= floor) kept += weight(l);
        const double u = sample_uniform(opts.seed, step) * kept;
        double acc = 0;
        for (size_t i = 0; i < V; ++i) {  // in id order, as the GPU walks them
            if (!(logits[i] >= floor)) continue;
            chosen = int32_t(i);  // rounding can leave acc <= u at the end: the last kept token
            acc += weight(logits[i]);
            if (acc > u) break;
        }
    }
    return {chosen, plain_prob(logits, chosen)};
}

TokenPick Session::pick_next(const SamplingOptions& opts, uint64_t step) { return pick_token(logits(), opts, step); }

Sampler::Sampler(const SamplingOptions& opts) : opts_(opts) {}

int32_t Sampler::sample(std::span<const float> logits, double* p_chosen) {
    const TokenPick t = pick_token(logits, opts_, step_++);
    if (p_chosen) *p_chosen = t.prob;
    return t.id;
}

const char* stop_reason_name(StopReason r) {
    switch (r) {
        case StopReason::StopToken: return "stop_token";
        case StopReason::MaxTokens: return "max_tokens";
        case StopReason::RepetitionGuard: return "repetition_guard";
        case StopReason::Cancelled: return "cancelled";
        case StopReason::CallbackStop: return "callback_stop";
    }
    return "unknown";
}

GenerateResult generate(Session& session, std::span<const int32_t> prompt, const GenerateOptions& opts,
                        const TokenCallback& on_token, const std::atomic<bool>* cancel,
                        const ProgressFn& prefill_progress) {
    GenerateResult r;
    r.prompt_tokens = int64_t(prompt.size());
    auto t0 = std::chrono::steady_clock::now();
    if (!prompt.empty() && !session.prefill(prompt, opts.prefill_chunk, prefill_progress, cancel)) {
        r.reason = StopReason::Cancelled;
        r.prefill_seconds = seconds_since(t0);
        return r;
    }
    // (position() rather than logits(), which would copy a GPU session's logits to the host.)
    if (session.position() == 0) throw InputError("generate: empty prompt and nothing fed to the session before");
    r.prefill_seconds = seconds_since(t0);
    auto t1 = std::chrono::steady_clock::now();
    int64_t confident_run = 0;
    r.reason = StopReason::MaxTokens;
    while (int64_t(r.ids.size()) < opts.max_tokens) {
        if (cancel && cancel->load()) {
            r.reason = StopReason::Cancelled;
            break;
        }
        // On the session's device: the CUDA backend copies the choice, not 200064 logits.
        const TokenPick pick = session.pick_next(opts.sampling, uint64_t(r.ids.size()));
        const int32_t id = pick.id;
        r.ids.push_back(id);
        confident_run = pick.prob > opts.repetition_guard_p ? confident_run + 1 : 0;
        if (on_token && !on_token(id)) {
            r.reason = StopReason::CallbackStop;
            break;
        }
        if (std::find(opts.stop_ids.begin(), opts.stop_ids.end(), id) != opts.stop_ids.end()) {
            r.reason = StopReason::StopToken;
            break;
        }
        if (opts.repetition_guard_tokens > 0 && confident_run >= opts.repetition_guard_tokens) {
            r.reason = StopReason::RepetitionGuard;
            break;
        }
        if (int64_t(r.ids.size()) >= opts.max_tokens) break;
        const int32_t one[1] = {id};
        session.forward(one);
    }
    r.decode_seconds = seconds_since(t1);
    return r;
}

}  // namespace m1
