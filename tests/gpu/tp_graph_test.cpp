// Multi-GPU decode through CUDA graphs and prefill with overlapped all-reduces, on 2 GPUs (M1-width slice, random
// weights shared exactly with one GPU): captured steps (collectives GPU to GPU) give the same logits as uncaptured
// ones (NCCL), bit for bit with 2 ranks, also after a reset moves the positions back; the overlapped prefill matches
// the plain one and one GPU; greedy tokens agree everywhere. A rank that stalls during a captured step ends in
// CommError{timeout, rank 1} within the watchdog time, the engine refuses later calls, and a new one works in the
// same process.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <random>

#include "bench/m1_slice.h"
#include "gpu/nccl_test_support.h"

#ifdef M1_HAVE_NCCL
#include "m1/backend.h"
#include "m1/parallel.h"
#include "m1/parallel_tp.h"

namespace m1 {
namespace {

::testing::Environment* const kEnv = ::testing::AddGlobalTestEnvironment(new test::NeedTwoGpus);
using test::rel_l2;
using test::argmax;
using test::random_ids;
using Clock = std::chrono::steady_clock;

// The TP session switches (read when a session is made).
std::unique_ptr<Session> tp_session(TpTwin& twin, bool graphs, int overlap) {
    const std::string o = std::to_string(overlap);
    setenv("M1_TP_GRAPHS", graphs ? "1" : "0", 1);
    setenv("M1_TP_OVERLAP", o.c_str(), 1);
    setenv("M1_TP_OVERLAP_MOE", o.c_str(), 1);
    auto s = twin.parallel_session();
    unsetenv("M1_TP_GRAPHS");
    unsetenv("M1_TP_OVERLAP");
    unsetenv("M1_TP_OVERLAP_MOE");
    return s;
}

// One lightning and one softmax layer at M1's widths, 8 experts.
ModelConfig m1_width_slice() { return bench::m1_width_slice(1, 1, 8); }

struct Rows {
    double worst = 0, median = 0;
    int over = 0;  // rows over 2e-2: near-tie MoE routings that the partial sums' rounding flips
};
Rows compare_rows(const std::vector<float>& got, const std::vector<float>& want, std::size_t n, std::size_t V,
                  const char* what) {
    Rows r;
    std::vector<double> rows;
    std::size_t same = 0;
    for (std::size_t t = 0; t < n; ++t) {
        std::span<const float> a(&got[t * V], V), b(&want[t * V], V);
        rows.push_back(rel_l2(a, b));
        r.worst = std::max(r.worst, rows.back());
        r.over += rows.back() > 2e-2;
        same += argmax(a) == argmax(b);
    }
    std::nth_element(rows.begin(), rows.begin() + long(rows.size() / 2), rows.end());
    r.median = rows[rows.size() / 2];
    std::printf("[tp graph] %s: %zu rows, worst rel L2 %.2e, median %.2e, %d over 2e-2, same argmax %zu\n", what, n, r.worst,
                r.median, r.over, same);
    return r;
}

TEST(TpGraph, CapturedDecodeAndOverlappedPrefillMatch) {
    constexpr std::size_t V = 200064;
    TpTwin::Options o;
    o.timeout = std::chrono::milliseconds(20000);
    o.max_chunk = 1024;  // 1100 tokens: one chunk of 1024 (two overlapped row blocks of 512), then 76
    o.context_tokens = 4096;
    o.moe = MoeSplit::expert;
    auto twin = TpTwin::random(m1_width_slice(), {0, 1}, o, 99);
    auto one = twin->single_session();
    auto plain = tp_session(*twin, false, 0);     // the engine before: NCCL step by step, no overlap
    auto captured = tp_session(*twin, true, 0);   // decode through graphs, prefill as plain
    auto overlapped = tp_session(*twin, true, 2); // graphs and two row blocks per all-reduce
    const auto ids = random_ids(1100, int32_t(V), 5);
    std::vector<float> l1(ids.size() * V), lp(l1.size()), lc(l1.size()), lo(l1.size());
    one->prefill(ids, 1024, {}, nullptr, l1.data());
    plain->prefill(ids, 1024, {}, nullptr, lp.data());
    captured->prefill(ids, 1024, {}, nullptr, lc.data());
    overlapped->prefill(ids, 1024, {}, nullptr, lo.data());
    const Rows vs_one = compare_rows(lp, l1, ids.size(), V, "plain 2 GPUs vs 1");
    EXPECT_LT(vs_one.median, 5e-3);
    EXPECT_LE(vs_one.over, 11);
    EXPECT_LT(rel_l2(lc, lp), 1e-6) << "the same prefill path gave different logits";
    const Rows ov = compare_rows(lo, lp, ids.size(), V, "overlapped vs plain prefill (2 GPUs)");
    EXPECT_LT(ov.median, 1e-3);
    EXPECT_LE(ov.over, 11);
    const Rows ov1 = compare_rows(lo, l1, ids.size(), V, "overlapped 2 GPUs vs 1");
    EXPECT_LT(ov1.median, 5e-3);
    EXPECT_LE(ov1.over, 11);

    // Greedy decode, each from its own choice: graphs (GPU-to-GPU sums) and NCCL give the same bits.
    auto decode = [&](int steps, const char* what) {
        double worst = 0;
        std::vector<int32_t> t1, tp, tc, to;
        for (int i = 0; i < steps; ++i) {
            t1.push_back(argmax(one->logits()));
            tp.push_back(argmax(plain->logits()));
            tc.push_back(argmax(captured->logits()));
            to.push_back(argmax(overlapped->logits()));
            one->forward({&t1.back(), 1});
            plain->forward({&tp.back(), 1});
            captured->forward({&tc.back(), 1});
            overlapped->forward({&to.back(), 1});
            worst = std::max(worst, rel_l2(captured->logits(), plain->logits()));
        }
        std::printf("[tp graph] %s: %d steps, captured vs plain worst rel L2 %.2e, vs 1 GPU %.2e\n", what, steps, worst,
                    rel_l2(captured->logits(), one->logits()));
        EXPECT_LT(worst, 1e-6) << what;  // 0 expected: both add the same two partials
        EXPECT_EQ(tc, tp) << what;
        EXPECT_EQ(tc, t1) << what;
        EXPECT_EQ(to, t1) << what;
    };
    decode(16, "after 1100 tokens");
    // Back to position 0 and a shorter prompt: the captured steps must follow the new positions.
    for (Session* s : {one.get(), plain.get(), captured.get(), overlapped.get()}) {
        s->reset();
        s->prefill(random_ids(300, int32_t(V), 6), 256);
    }
    decode(8, "after a reset and 300 tokens");
    EXPECT_EQ(captured->position(), 308);
}

ModelConfig small_config() {  // quick to make, the same kernels as M1 (head_dim 128)
    ModelConfig c;
    c.architecture = "MiniMaxM1ForCausalLM (small)";
    c.hidden_size = 1024; c.num_heads = 8; c.num_kv_heads = 2; c.head_dim = 128; c.rotary_dim = 64;
    c.intermediate_size = 512; c.num_experts = 4; c.top_k = 2; c.vocab_size = 4096;
    c.max_position_embeddings = 1048576; c.rope_theta = 1e7; c.rms_norm_eps = 1e-5;
    c.alpha_linear = c.alpha_full = c.alpha_mlp = 2.0;
    c.num_layers = 2;
    c.layer_kinds = {LayerKind::Lightning, LayerKind::Softmax};
    return c;
}

TEST(TpGraph, StalledRankDuringCapturedStepThenRestart) {
    TpTwin::Options o;
    o.timeout = std::chrono::milliseconds(2000);
    o.max_chunk = 256;
    o.context_tokens = 1024;
    o.moe = MoeSplit::expert;
    const auto ids = random_ids(64, 4096, 3);
    auto steps = [](Session& s, int n) {
        for (int i = 0; i < n; ++i) {
            int32_t t = argmax(s.logits());
            s.forward({&t, 1});
        }
    };
    std::vector<float> want;
    {
        auto twin = TpTwin::random(small_config(), {0, 1}, o, 7);
        auto s = tp_session(*twin, true, 0);
        s->prefill(ids, 32);
        steps(*s, 3);  // captured and replayed
        want.assign(s->logits().begin(), s->logits().end());
        set_faults({.stall_rank = 1, .oom_device = -1});
        auto t0 = Clock::now();
        try {
            steps(*s, 1);
            FAIL() << "a captured step with a stalled rank completed";
        } catch (const CommError& e) {
            auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
            std::printf("[tp graph fault] CommError after %lld ms: %s\n", static_cast<long long>(ms), e.what());
            EXPECT_EQ(e.kind, CommError::Kind::timeout);
            EXPECT_EQ(e.rank, 1);
            EXPECT_LT(ms, 2000 + 4000);
        }
        set_faults({});
        EXPECT_THROW(steps(*s, 1), CommError);  // the aborted engine stays refused
        EXPECT_THROW(s->prefill(ids, 32), CommError);
    }
    auto twin = TpTwin::random(small_config(), {0, 1}, o, 7);  // a second run in the same process
    auto s = tp_session(*twin, true, 0);
    s->prefill(ids, 32);
    steps(*s, 3);
    EXPECT_LT(rel_l2(s->logits(), want), 1e-6);
}

}  // namespace
}  // namespace m1

#else
TEST(TpGraph, NeedsNccl) { GTEST_SKIP() << "built without NCCL"; }
#endif
