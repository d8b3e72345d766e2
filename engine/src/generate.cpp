// Sampling (greedy, temperature, top-k, top-p, seeded) and the generation loop with stop tokens, a
// token limit, M1's repetition guard, streaming and cancellation.
#include "m1/generate.h"

#include <algorithm>
#include <chrono>
#include <cmath>

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

}  // namespace

Sampler::Sampler(const SamplingOptions& opts) : opts_(opts), rng_(opts.seed) {}

int32_t Sampler::sample(std::span<const float> logits, double* p_chosen) {
    const int64_t V = int64_t(logits.size());
    if (V == 0) throw InputError("sampling from empty logits (nothing has been fed to the session)");
    int32_t chosen;
    if (opts_.greedy || opts_.temperature <= 0) {
        chosen = int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());  // first max wins
    } else {
        // Candidates by descending logit (lower id first on ties), enough of them to cover top-k / top-p.
        auto& c = scratch_;
        c.resize(size_t(V));
        for (int64_t i = 0; i < V; ++i) c[size_t(i)] = {logits[size_t(i)], int32_t(i)};
        auto better = [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); };
        const double invT = 1.0 / opts_.temperature;
        const float mx = *std::max_element(logits.begin(), logits.end());
        double total = 0;
        for (float l : logits) total += std::exp((double(l) - double(mx)) * invT);
        int64_t limit = opts_.top_k > 0 ? std::min<int64_t>(opts_.top_k, V) : V;
        int64_t n = std::min<int64_t>(limit, 64);
        for (;;) {  // grow the sorted prefix until it holds the nucleus (or the top-k set)
            std::partial_sort(c.begin(), c.begin() + n, c.end(), better);
            double mass = 0;
            for (int64_t i = 0; i < n; ++i) mass += std::exp((double(c[size_t(i)].first) - double(mx)) * invT);
            if (n == limit || (opts_.top_p < 1.0 && mass / total >= opts_.top_p)) break;
            n = std::min(limit, n * 4);
        }
        std::vector<double> w(static_cast<size_t>(n));
        double kept = 0;
        for (int64_t i = 0; i < n; ++i) kept += w[size_t(i)] = std::exp((double(c[size_t(i)].first) - double(mx)) * invT);
        if (opts_.top_p < 1.0) {  // smallest prefix whose share of the kept mass reaches top_p
            double cum = 0;
            int64_t m = 0;
            while (m < n) {
                cum += w[size_t(m++)];
                if (cum / kept >= opts_.top_p) break;
            }
            n = m;
            kept = cum;
        }
        const double u = double(rng_() >> 11) * 0x1.0p-53 * kept;  // portable uniform in [0, kept)
        double acc = 0;
        chosen = c[size_t(n - 1)].second;
        for (int64_t i = 0; i < n; ++i) {
            acc += w[size_t(i)];
            if (u < acc) {
                chosen = c[size_t(i)].second;
                break;
            }
        }
    }
    if (p_chosen) *p_chosen = plain_prob(logits, chosen);
    return chosen;
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
    if (session.logits().empty()) throw InputError("generate: empty prompt and nothing fed to the session before");
    r.prefill_seconds = seconds_since(t0);
    auto t1 = std::chrono::steady_clock::now();
    Sampler sampler(opts.sampling);
    int64_t confident_run = 0;
    r.reason = StopReason::MaxTokens;
    while (int64_t(r.ids.size()) < opts.max_tokens) {
        if (cancel && cancel->load()) {
            r.reason = StopReason::Cancelled;
            break;
        }
        double p = 0;
        const int32_t id = sampler.sample(session.logits(), &p);
        r.ids.push_back(id);
        confident_run = p > opts.repetition_guard_p ? confident_run + 1 : 0;
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
