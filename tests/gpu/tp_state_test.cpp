// Session states across GPU counts: a state exported on 2 GPUs is byte-for-byte the state of 1 GPU that
// imported it, restores on the CPU, and states from the CPU and from 1 GPU restore on 2 GPUs; each restored
// session continues with the logits of the original. A damaged or truncated stream is refused and leaves
// the session as it was.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "bench/m1_slice.h"
#include "gpu/nccl_test_support.h"

#ifdef M1_HAVE_NCCL
#include "m1/backend.h"
#include "m1/model.h"
#include "m1/parallel_tp.h"
#include "m1/state_format.h"

namespace m1 {
namespace {

::testing::Environment* const kEnv = ::testing::AddGlobalTestEnvironment(new test::NeedTwoGpus);
using test::rel_l2;
using test::random_ids;

std::vector<uint8_t> save(const Session& s) {
    VectorSink out;
    s.export_state(out);
    return out.bytes;
}

void load(Session& s, const std::vector<uint8_t>& bytes) {
    SpanSource in(bytes);
    s.import_state(in);
}

// Logits of every position of `tail` fed in one chunk.
std::vector<float> continue_with(Session& s, const std::vector<int32_t>& tail) {
    std::vector<float> out(tail.size() * size_t(s.config().vocab_size));
    s.forward(tail, out.data());
    return out;
}

std::vector<float> copy(std::span<const float> v) { return {v.begin(), v.end()}; }

void short_watchdog() { setenv("M1_NCCL_TIMEOUT_MS", "20000", 1); }

TEST(TpState, TwoGpusToOneGpuAndCpuAndBack) {
    short_watchdog();
    auto model = Model::load(demo_model_dir());
    const int64_t V = model->config().vocab_size;
    auto two = make_backend(model, "cuda:0,1");
    auto one = make_backend(model, "cuda:0");
    auto cpu = make_backend(model, "cpu");
    const auto ids = random_ids(260, V, 21);
    const std::vector<int32_t> head(ids.begin(), ids.begin() + 200), tail(ids.begin() + 200, ids.end());

    auto ref = two->new_session();
    ref->prefill(head, 64);
    const auto state2 = save(*ref);
    const auto logits_at_head = copy(ref->logits());
    const auto want = continue_with(*ref, tail);

    // 2 GPUs -> 1 GPU: the same bytes come back out, and it continues like the 2-GPU session.
    auto s1 = one->new_session();
    load(*s1, state2);
    EXPECT_EQ(s1->position(), 200);
    EXPECT_EQ(copy(s1->logits()), logits_at_head);
    EXPECT_TRUE(save(*s1) == state2) << "a 1-GPU session re-exports a 2-GPU state differently";
    const double e1 = rel_l2(continue_with(*s1, tail), want);

    // 2 GPUs -> 2 GPUs (a fresh session): byte-equal re-export, the same continuation.
    auto s2 = two->new_session();
    load(*s2, state2);
    EXPECT_TRUE(save(*s2) == state2);
    const double e2 = rel_l2(continue_with(*s2, tail), want);

    // 2 GPUs -> CPU.
    auto sc = cpu->new_session();
    load(*sc, state2);
    EXPECT_EQ(sc->position(), 200);
    const double ec = rel_l2(continue_with(*sc, tail), want);

    // CPU -> 2 GPUs (fp32 KV cache narrowed on import) and 1 GPU -> 2 GPUs, against the source continuing.
    auto cref = cpu->new_session();
    cref->prefill(head, 64);
    const auto state_cpu = save(*cref);
    auto from_cpu = two->new_session();
    load(*from_cpu, state_cpu);
    EXPECT_EQ(from_cpu->position(), 200);
    EXPECT_EQ(copy(from_cpu->logits()), copy(cref->logits()));
    const double eb = rel_l2(continue_with(*from_cpu, tail), continue_with(*cref, tail));

    auto oref = one->new_session();
    oref->prefill(head, 64);
    auto from_one = two->new_session();
    load(*from_one, save(*oref));
    EXPECT_TRUE(save(*from_one) == save(*oref));
    const double eo = rel_l2(continue_with(*from_one, tail), continue_with(*oref, tail));

    std::printf("[tp state] %zu-byte state at 200 tokens; next 60 positions' logits vs the source continuing: "
                "2->1 GPU %.2e, 2->2 %.2e, 2->CPU %.2e, CPU->2 %.2e, 1->2 %.2e\n",
                state2.size(), e1, e2, ec, eb, eo);
    EXPECT_LT(e1, 2e-2);
    EXPECT_LT(e2, 1e-4);  // same GPUs, same state: only run-to-run noise
    EXPECT_LT(ec, 3e-2);
    EXPECT_LT(eb, 3e-2);
    EXPECT_LT(eo, 2e-2);
}

TEST(TpState, DamagedStreamLeavesTheSessionAsItWas) {
    short_watchdog();
    auto model = Model::load(demo_model_dir());
    const int64_t V = model->config().vocab_size;
    auto two = make_backend(model, "cuda:0,1");
    auto src = two->new_session();
    src->prefill(random_ids(80, V, 5), 32);
    const auto good = save(*src);

    auto s = two->new_session();
    s->prefill(random_ids(30, V, 6), 32);
    const auto before = copy(s->logits());
    auto damaged = good;
    damaged[damaged.size() / 2] ^= 0x40;
    EXPECT_THROW(load(*s, damaged), StateFormatError);
    EXPECT_EQ(s->position(), 30);
    EXPECT_EQ(copy(s->logits()), before);
    const std::vector<uint8_t> truncated(good.begin(), good.begin() + std::ptrdiff_t(good.size() / 3));
    EXPECT_THROW(load(*s, truncated), StateFormatError);
    EXPECT_EQ(s->position(), 30);
    // Still usable, and the sound state goes in afterwards.
    const int32_t t = 7;
    s->forward({&t, 1});
    EXPECT_EQ(s->position(), 31);
    load(*s, good);
    EXPECT_EQ(s->position(), 80);
    EXPECT_TRUE(save(*s) == good);
}

// One lightning and one softmax layer at M1's widths, 4 experts.
ModelConfig m1_width_slice() { return bench::m1_width_slice(1, 1, 4); }

// M1's widths: 32 heads and 4 KV heads per GPU, a KV cache split by head over more than one block of
// positions (the merge interleaves 2,048 positions at a time).
TEST(TpState, M1WidthSliceBothWays) {
    TpTwin::Options o;
    o.timeout = std::chrono::milliseconds(20000);
    o.max_chunk = 1024;
    o.context_tokens = 4096;
    auto twin = TpTwin::random(m1_width_slice(), {0, 1}, o, 41);
    const auto ids = random_ids(2600, 200064, 8);
    const std::vector<int32_t> head(ids.begin(), ids.begin() + 2560), tail(ids.begin() + 2560, ids.end());
    auto par = twin->parallel_session();
    par->prefill(head, 1024);
    const auto sp = save(*par);
    auto single = twin->single_session();
    load(*single, sp);
    EXPECT_TRUE(save(*single) == sp);
    const double e1 = rel_l2(continue_with(*single, tail), continue_with(*par, tail));

    auto sref = twin->single_session();
    sref->prefill(head, 1024);
    auto par2 = twin->parallel_session();
    load(*par2, save(*sref));
    EXPECT_TRUE(save(*par2) == save(*sref));
    const double e2 = rel_l2(continue_with(*par2, tail), continue_with(*sref, tail));
    std::printf("[tp state] M1-width slice, %zu-byte state at 2560 tokens: 2->1 GPU %.2e, 1->2 GPUs %.2e\n", sp.size(),
                e1, e2);
    EXPECT_LT(e1, 2e-2);
    EXPECT_LT(e2, 2e-2);
}

}  // namespace
}  // namespace m1

#else
TEST(TpState, NeedsNccl) { GTEST_SKIP() << "built without NCCL"; }
#endif
