// The device token pick (kern::pick_token, CudaSession::pick_next) against the host pick (m1::pick_token):
// the same uniform numbers, the same greedy choice (lowest id among tied maxima) and plain probability on
// random logits with ties, -inf and small vocabularies, the same seeded draws up to rounding, and on the golden
// fixtures a CUDA session's picks (inside the decode graph after the first) equal to the host's from logits().
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "cuda_test_support.h"
#include "engine/src/cuda/cuda_backend.h"
#include "kernels/sampling.cuh"
#include "m1/backend.h"
#include "m1/generate.h"
#include "support/golden_fixtures.h"

namespace {

using m1::test::Dev;

// One pick on the device (twice: the second call checks that the scratch was left ready).
m1::TokenPick device_pick(const std::vector<float>& logits, const m1::SamplingOptions& o, uint64_t step) {
    Dev<float> l(logits);
    Dev<uint8_t> scratch(m1::kern::pick_scratch_bytes());
    M1_CUDA_CHECK(cudaMemset(scratch.p, 0, scratch.n));
    Dev<m1::kern::TokenChoice> out(1);
    m1::kern::SampleParams p;
    p.temperature = float(o.temperature);
    p.top_k = int(o.top_k);
    p.top_p = float(o.top_p);
    p.seed = o.seed;
    p.greedy = o.greedy;
    m1::kern::TokenChoice first{};
    for (int rep = 0; rep < 2; ++rep) {
        M1_CUDA_CHECK(cudaMemset(out.p, 0xff, sizeof(m1::kern::TokenChoice)));
        m1::kern::pick_token(l.p, int(logits.size()), p, step, scratch.p, out.p, nullptr);
        const auto got = out.get()[0];
        if (rep == 0) first = got;
        EXPECT_EQ(got.id, first.id);
        EXPECT_EQ(got.prob, first.prob);
    }
    return {first.id, double(first.prob)};
}

TEST(TokenPickGpu, UniformNumbersMatchTheHost) {
    for (uint64_t seed : {0ull, 1ull, 77ull, ~0ull})
        for (uint64_t step = 0; step < 100; ++step)
            EXPECT_EQ(m1::kern::sample_uniform(seed, step), m1::sample_uniform(seed, step)) << seed << " " << step;
}

TEST(TokenPickGpu, GreedyMatchesTheHostOnTiesAndEdges) {
    std::mt19937 g(17);
    const m1::SamplingOptions greedy{.greedy = true};
    int cases = 0;
    for (int V : {1, 7, 33, 1000, 33333, 200064}) {
        for (int kind = 0; kind < 5; ++kind) {
            std::vector<float> l = m1::test::randn(std::size_t(V), g, 3.f);
            if (kind == 1)
                for (auto& x : l) x = std::round(x);  // many tied maxima
            if (kind == 2) std::fill(l.begin(), l.end(), 0.25f);  // all tied: id 0
            if (kind == 3) {  // the max only at the last id, -inf sprinkled
                for (std::size_t i = 0; i < l.size(); i += 3) l[i] = -INFINITY;
                l.back() = 100.f;
            }
            if (kind == 4) {  // the max at both ends and in the middle
                l.front() = l.back() = l[l.size() / 2] = 50.f;
            }
            const m1::TokenPick h = m1::pick_token(l, greedy, 0), d = device_pick(l, greedy, 0);
            EXPECT_EQ(d.id, h.id) << "V " << V << " kind " << kind;
            EXPECT_NEAR(d.prob, h.prob, 1e-5 * h.prob + 1e-7) << "V " << V << " kind " << kind;
            ++cases;
        }
    }
    EXPECT_EQ(cases, 30);
}

TEST(TokenPickGpu, SeededDrawsMatchTheHostUpToRounding) {
    std::mt19937 g(23);
    const std::vector<float> l = m1::test::randn(200064, g, 2.5f);
    const m1::SamplingOptions configs[] = {{.temperature = 1.0, .seed = 1},
                                           {.temperature = 0.8, .top_p = 0.95, .top_k = 40, .seed = 2},
                                           {.temperature = 1.2, .top_p = 0.9, .seed = 3},
                                           {.temperature = 0.7, .top_k = 1000, .seed = 4}};
    for (const auto& o : configs) {
        int differ = 0;
        for (uint64_t step = 0; step < 48; ++step) {
            const m1::TokenPick h = m1::pick_token(l, o, step), d = device_pick(l, o, step);
            if (d.id != h.id) {
                ++differ;
                std::printf("T %.2f top_k %lld top_p %.2f step %llu: device %d, host %d\n", o.temperature,
                            (long long)o.top_k, o.top_p, (unsigned long long)step, d.id, h.id);
            } else {
                EXPECT_NEAR(d.prob, h.prob, 1e-4 * h.prob + 1e-9);
            }
        }
        EXPECT_LE(differ, 1) << "T " << o.temperature << " top_k " << o.top_k << " top_p " << o.top_p;
    }
}

class TokenPickGolden : public ::testing::TestWithParam<std::filesystem::path> {};

// Decode steps on the CUDA backend: each step's device pick equals the host's from the copied logits, for
// greedy and for a seeded sampler; after the first pick the choice comes from inside the decode graph.
TEST_P(TokenPickGolden, SessionPickEqualsHostPick) {
    const auto dir = GetParam();
    auto model = m1::Model::load(dir.string());
    auto be = m1::make_backend(model, "cuda");
    const auto ids = m1::test::read_ids(dir / "ids.txt");
    for (const m1::SamplingOptions& o : {m1::SamplingOptions{.greedy = true},
                                         m1::SamplingOptions{.temperature = 0.9, .top_p = 0.95, .top_k = 30, .seed = 9}}) {
        auto s = be->new_session();
        EXPECT_THROW(s->pick_next(o, 0), m1::InputError);
        ASSERT_TRUE(s->prefill(ids, 16));
        const auto before = m1::cuda_decode_stats(*s);
        for (int i = 0; i < 12; ++i) {
            const uint64_t step = uint64_t(s->position());
            const m1::TokenPick d = s->pick_next(o, step);
            const std::vector<float> l(s->logits().begin(), s->logits().end());
            const m1::TokenPick h = m1::pick_token(l, o, step);
            EXPECT_EQ(d.id, h.id) << dir.filename() << " step " << i << (o.greedy ? " greedy" : " sampled");
            EXPECT_NEAR(d.prob, h.prob, 1e-4 * h.prob + 1e-9);
            s->forward({&d.id, 1});
        }
        EXPECT_EQ(m1::cuda_decode_stats(*s).steps - before.steps, 12);  // every step through the graph
    }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, TokenPickGolden, ::testing::ValuesIn(m1::test::golden_fixtures()),
                         [](const auto& info) { return info.param.filename().string(); });

}  // namespace
