// Sampling and generation: seeded determinism, greedy, top-k/top-p, stop tokens, token limit, the
// repetition guard, streaming and cancellation (a scripted session stands in for the model).
#include <gtest/gtest.h>

#include <map>

#include "m1/backend.h"
#include "m1/generate.h"

namespace {

// A scripted session (the loop under test needs only logits): its logits strongly prefer (last token + 1) % V,
// or follow a fixed distribution.
class ScriptSession : public m1::Session {
public:
    explicit ScriptSession(int64_t V, float peak) : V_(V), peak_(peak) { cfg_.vocab_size = V; }
    const m1::ModelConfig& config() const override { return cfg_; }
    const std::string& fingerprint() const override { return fp_; }
    std::string device() const override { return "script"; }
    int64_t position() const override { return pos_; }
    void forward(std::span<const int32_t> ids, float*) override {
        pos_ += int64_t(ids.size());
        logits_.assign(size_t(V_), 0.f);
        logits_[size_t((ids.back() + 1) % V_)] = peak_;
    }
    std::span<const float> logits() const override { return logits_; }
    void reset() override { pos_ = 0; }
    void export_state(m1::ByteSink&) const override {}
    void import_state(m1::ByteSource&) override {}

private:
    int64_t V_;
    float peak_;
    m1::ModelConfig cfg_;
    std::string fp_ = "script";
    std::vector<float> logits_;
    int64_t pos_ = 0;
};

TEST(Sampler, GreedyAndSeededDeterminism) {
    std::vector<float> l = {0.1f, 2.0f, 2.0f, -1.f};
    m1::Sampler g({.greedy = true});
    EXPECT_EQ(g.sample(l), 1);  // first max wins
    std::vector<float> flat(50, 0.f);
    auto draw = [&](uint64_t seed) {
        m1::Sampler s({.temperature = 1.0, .seed = seed});
        std::vector<int32_t> v;
        for (int i = 0; i < 20; ++i) v.push_back(s.sample(flat));
        return v;
    };
    EXPECT_EQ(draw(7), draw(7));
    EXPECT_NE(draw(7), draw(8));
}

TEST(Sampler, TopKAndTopPRestrictTheChoice) {
    std::vector<float> l = {5.f, 4.f, 3.f, 0.f, 0.f, 0.f};
    m1::Sampler k2({.temperature = 1.0, .top_k = 2, .seed = 1});
    std::map<int32_t, int> seen;
    for (int i = 0; i < 2000; ++i) seen[k2.sample(l)]++;
    EXPECT_EQ(seen.size(), 2u);
    EXPECT_GT(seen[0], seen[1]);
    // p = softmax: 0.656, 0.241, 0.089, 0.004 x 3; top_p 0.8 keeps {0, 1}; 0.5 keeps {0}.
    m1::Sampler p8({.temperature = 1.0, .top_p = 0.8, .seed = 2});
    seen.clear();
    for (int i = 0; i < 2000; ++i) seen[p8.sample(l)]++;
    EXPECT_EQ(seen.size(), 2u);
    m1::Sampler p5({.temperature = 1.0, .top_p = 0.5, .seed = 3});
    for (int i = 0; i < 100; ++i) EXPECT_EQ(p5.sample(l), 0);
    // Temperature: low temperature concentrates on the best token.
    m1::Sampler cold({.temperature = 0.05, .seed = 4});
    for (int i = 0; i < 100; ++i) EXPECT_EQ(cold.sample(l), 0);
    double p = 0;
    m1::Sampler({.greedy = true}).sample(l, &p);
    EXPECT_NEAR(p, 0.6564, 1e-3);
}

TEST(Generate, StopTokenMaxTokensStreamingAndPositions) {
    ScriptSession s(10, 50.f);
    m1::GenerateOptions o;
    o.sampling.greedy = true;
    o.max_tokens = 100;
    o.stop_ids = {7};
    std::vector<int32_t> streamed;
    std::vector<int32_t> prompt = {1, 2, 3};
    auto r = m1::generate(s, prompt, o, [&](int32_t id) { streamed.push_back(id); return true; });
    EXPECT_EQ(r.ids, (std::vector<int32_t>{4, 5, 6, 7}));
    EXPECT_EQ(streamed, r.ids);
    EXPECT_EQ(r.reason, m1::StopReason::StopToken);
    EXPECT_EQ(s.position(), 3 + 4 - 1);  // the last token is not fed
    ScriptSession s2(10, 50.f);
    o.stop_ids.clear();
    o.max_tokens = 5;
    r = m1::generate(s2, prompt, o);
    EXPECT_EQ(r.ids.size(), 5u);
    EXPECT_EQ(r.reason, m1::StopReason::MaxTokens);
}

TEST(Generate, RepetitionGuardStopsConfidentRuns) {
    ScriptSession confident(10, 50.f);  // p ~ 1 for every token
    m1::GenerateOptions o;
    o.sampling.temperature = 1.0;
    o.max_tokens = 10000;
    o.repetition_guard_tokens = 3000;
    std::vector<int32_t> prompt = {0};
    auto r = m1::generate(confident, prompt, o);
    EXPECT_EQ(r.reason, m1::StopReason::RepetitionGuard);
    EXPECT_EQ(r.ids.size(), 3000u);
    ScriptSession unsure(10, 4.f);  // p ~ 0.86 < 0.99: never stops early
    o.max_tokens = 4000;
    r = m1::generate(unsure, prompt, o);
    EXPECT_EQ(r.reason, m1::StopReason::MaxTokens);
}

TEST(Generate, CancellationBetweenTokensAndCallbackStop) {
    ScriptSession s(10, 50.f);
    m1::GenerateOptions o;
    o.max_tokens = 100;
    std::atomic<bool> cancel{false};
    int n = 0;
    std::vector<int32_t> prompt = {0};
    auto r = m1::generate(s, prompt, o, [&](int32_t) { if (++n == 3) cancel = true; return true; }, &cancel);
    EXPECT_EQ(r.reason, m1::StopReason::Cancelled);
    EXPECT_EQ(r.ids.size(), 3u);
    r = m1::generate(s, prompt, o, [&](int32_t) { return false; });
    EXPECT_EQ(r.reason, m1::StopReason::CallbackStop);
    cancel = true;  // cancelled before the prompt's first chunk
    ScriptSession fresh(10, 50.f);
    r = m1::generate(fresh, prompt, o, {}, &cancel);
    EXPECT_EQ(r.reason, m1::StopReason::Cancelled);
    EXPECT_EQ(fresh.position(), 0);
}

TEST(Generate, DemoModelIsDeterministicForASeed) {
    auto be = m1::make_backend(m1::Model::load(std::string(M1_SOURCE_DIR) + "/resources/demo"), "cpu");
    m1::GenerateOptions o;
    o.max_tokens = 12;
    o.sampling = {.temperature = 0.8, .top_p = 0.95, .top_k = 40, .seed = 5};
    std::vector<int32_t> prompt = {10, 20, 30, 40};
    auto a = m1::generate(*be->new_session(), prompt, o);
    auto b = m1::generate(*be->new_session(), prompt, o);
    EXPECT_EQ(a.ids, b.ids);
    EXPECT_EQ(a.ids.size(), 12u);
}

}  // namespace
