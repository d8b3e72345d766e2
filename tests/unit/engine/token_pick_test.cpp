// Token picks (m1::pick_token, Session::pick_next, Sampler): greedy ties, the plain probability, top-k / top-p
// ties kept at the boundary, seeded draws reproducible per (seed, step), and a session's pick_next equal to the
// pick from its logits (the CPU backend's default path; tests/gpu/token_pick_test.cpp checks the GPU's).
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>

#include "m1/backend.h"
#include "m1/generate.h"

namespace {

double softmax_p(const std::vector<float>& l, size_t i) {
    double mx = -INFINITY, s = 0;
    for (float x : l) mx = std::max(mx, double(x));
    for (float x : l) s += std::exp(double(x) - mx);
    return std::exp(double(l[i]) - mx) / s;
}

TEST(TokenPick, GreedyTakesTheLowestIdAmongTiesAndReportsItsProbability) {
    const std::vector<float> l = {0.1f, 2.0f, -3.f, 2.0f, 2.0f};
    const m1::TokenPick t = m1::pick_token(l, {.greedy = true}, 0);
    EXPECT_EQ(t.id, 1);
    EXPECT_NEAR(t.prob, softmax_p(l, 1), 1e-12);
    EXPECT_EQ(m1::pick_token(l, {.temperature = 0.0}, 5).id, 1);  // temperature <= 0 is greedy too
    const std::vector<float> flat(7, -1.5f);
    EXPECT_EQ(m1::pick_token(flat, {.greedy = true}, 0).id, 0);
    EXPECT_THROW(m1::pick_token({}, {.greedy = true}, 0), m1::InputError);
}

TEST(TokenPick, SeededDrawsDependOnSeedAndStepOnly) {
    std::mt19937 g(3);
    std::normal_distribution<float> n;
    std::vector<float> l(1000);
    for (auto& x : l) x = n(g);
    const m1::SamplingOptions o{.temperature = 0.9, .top_p = 0.95, .top_k = 50, .seed = 11};
    std::vector<int32_t> a, b;
    for (uint64_t s = 0; s < 40; ++s) a.push_back(m1::pick_token(l, o, s).id);
    for (uint64_t s = 0; s < 40; ++s) b.push_back(m1::pick_token(l, o, s).id);
    EXPECT_EQ(a, b);
    std::map<int32_t, int> distinct;
    for (auto id : a) distinct[id]++;
    EXPECT_GT(distinct.size(), 5u);  // the steps draw different numbers
    // A Sampler is the same picks, draw after draw.
    m1::Sampler sampler(o);
    for (uint64_t s = 0; s < 40; ++s) {
        double p = 0;
        EXPECT_EQ(sampler.sample(l, &p), a[s]);
        EXPECT_NEAR(p, softmax_p(l, size_t(a[s])), 1e-12);
    }
    auto other = o;
    other.seed = 12;
    int same = 0;
    for (uint64_t s = 0; s < 40; ++s) same += m1::pick_token(l, other, s).id == a[s];
    EXPECT_LT(same, 20);
    // The uniform numbers: in [0, 1), reproducible, not constant.
    EXPECT_EQ(m1::sample_uniform(1, 2), m1::sample_uniform(1, 2));
    EXPECT_NE(m1::sample_uniform(1, 2), m1::sample_uniform(1, 3));
    for (uint64_t s = 0; s < 1000; ++s) {
        const double u = m1::sample_uniform(9, s);
        EXPECT_GE(u, 0.0);
        EXPECT_LT(u, 1.0);
    }
}

TEST(TokenPick, TopKKeepsTiesAtItsBoundaryAndDrawsInProportion) {
    // Top-2 of {3, 2, 2, 0}: the k-th largest is 2, held by ids 1 and 2: both stay, id 3 never comes.
    const std::vector<float> l = {3.f, 2.f, 2.f, 0.f};
    std::map<int32_t, int> seen;
    const int n = 20000;
    for (uint64_t s = 0; s < uint64_t(n); ++s) seen[m1::pick_token(l, {.temperature = 1.0, .top_k = 2, .seed = 4}, s).id]++;
    EXPECT_EQ(seen.count(3), 0u);
    const double z = std::exp(3.0) + 2 * std::exp(2.0);
    for (int id : {0, 1, 2}) EXPECT_NEAR(seen[id] / double(n), std::exp(double(l[size_t(id)])) / z, 0.02) << id;
}

TEST(TokenPick, TopPKeepsTheFewestMostProbableTokensAndTheirTies) {
    // p = softmax: 0.656, 0.241, 0.089, 0.004 x 3. top_p 0.8 keeps {0, 1}; 0.5 keeps {0}.
    const std::vector<float> l = {5.f, 4.f, 3.f, 0.f, 0.f, 0.f};
    std::map<int32_t, int> seen;
    for (uint64_t s = 0; s < 2000; ++s) seen[m1::pick_token(l, {.temperature = 1.0, .top_p = 0.8, .seed = 2}, s).id]++;
    EXPECT_EQ(seen.size(), 2u);
    EXPECT_GT(seen[0], seen[1]);
    for (uint64_t s = 0; s < 100; ++s) EXPECT_EQ(m1::pick_token(l, {.temperature = 1.0, .top_p = 0.5, .seed = 3}, s).id, 0);
    // A tie at the nucleus' floor stays in: {5, 4, 4}: 0.5 of the mass needs id 0 only (0.58); 0.6 needs a 4,
    // and then both 4s are kept.
    const std::vector<float> t = {5.f, 4.f, 4.f, -9.f};
    seen.clear();
    for (uint64_t s = 0; s < 4000; ++s) seen[m1::pick_token(t, {.temperature = 1.0, .top_p = 0.6, .seed = 8}, s).id]++;
    EXPECT_EQ(seen.size(), 3u);
    EXPECT_EQ(seen.count(3), 0u);
}

// A session whose logits are set by the test; pick_next is the Session default (the CPU backend's path).
class FixedSession : public m1::Session {
public:
    explicit FixedSession(std::vector<float> l) : l_(std::move(l)) { cfg_.vocab_size = int64_t(l_.size()); }
    const m1::ModelConfig& config() const override { return cfg_; }
    const std::string& fingerprint() const override { return fp_; }
    std::string device() const override { return "fixed"; }
    int64_t position() const override { return fed_ ? 1 : 0; }
    void forward(std::span<const int32_t>, float*) override { fed_ = true; }
    std::span<const float> logits() const override {
        return fed_ ? std::span<const float>(l_) : std::span<const float>();
    }
    void reset() override { fed_ = false; }
    void export_state(m1::ByteSink&) const override {}
    void import_state(m1::ByteSource&) override {}

private:
    std::vector<float> l_;
    m1::ModelConfig cfg_;
    std::string fp_ = "fixed";
    bool fed_ = false;
};

TEST(TokenPick, SessionPickNextIsThePickFromItsLogits) {
    std::mt19937 g(5);
    std::normal_distribution<float> n;
    std::vector<float> l(300);
    for (auto& x : l) x = std::round(n(g) * 2.f) / 2.f;  // many ties
    FixedSession s(l);
    EXPECT_THROW(s.pick_next({.greedy = true}, 0), m1::InputError);  // nothing fed
    const int32_t one = 1;
    s.forward(std::span<const int32_t>(&one, 1), nullptr);
    for (const m1::SamplingOptions& o : {m1::SamplingOptions{.greedy = true},
                                         m1::SamplingOptions{.temperature = 0.7, .top_p = 0.9, .top_k = 20, .seed = 3}})
        for (uint64_t step = 0; step < 20; ++step) {
            const m1::TokenPick a = s.pick_next(o, step), b = m1::pick_token(l, o, step);
            EXPECT_EQ(a.id, b.id);
            EXPECT_EQ(a.prob, b.prob);
        }
}

TEST(TokenPick, CpuBackendPicksFromItsLogits) {
    auto be = m1::make_backend(m1::Model::load(std::string(M1_SOURCE_DIR) + "/resources/demo"), "cpu");
    auto s = be->new_session();
    const std::vector<int32_t> prompt = {10, 20, 30, 40};
    s->forward(prompt);
    const std::vector<float> l(s->logits().begin(), s->logits().end());
    const m1::SamplingOptions o{.temperature = 0.8, .top_p = 0.95, .top_k = 40, .seed = 5};
    for (uint64_t step = 0; step < 8; ++step) EXPECT_EQ(s->pick_next(o, step).id, m1::pick_token(l, o, step).id);
    EXPECT_EQ(s->pick_next({.greedy = true}, 0).id, int32_t(std::max_element(l.begin(), l.end()) - l.begin()));
}

}  // namespace
