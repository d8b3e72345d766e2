// Lightning prefill kernels (impl 1-9: three-pass and single-pass, mma.sync and wgmma walks, cp.async and TMA
// loads, the single pass with its two walks at once) vs the CPU recurrence (m1::ref::lightning_decode) on fresh random inputs (a base seed mixed with a random
// draw, printed) in M1's fused qkv layout: several chunkings, a partial last sub-block, an initial state, in-place
// continuation, single-pass runs of several rounds with CTAs past the end. The output starts as NaN; NaN never passes.
// LP_IMPLS (environment, e.g. "9"): run only these kernels (for compute-sanitizer on one kernel).
#include "kernels/lightning_prefill.cuh"

#include "gpu/attention_test_support.h"
#include "m1/reference_ops.h"

#include <cstdlib>
#include <cstring>

namespace {

using m1::test::DeviceBuffer;
using bf16 = __nv_bfloat16;

struct Case {
    int T, heads, chunk, layer;  // chunk 0 = the default for this GPU
    bool with_state;
    int split = 0;               // > 0: run as two calls [0, split), [split, T) continuing the state in place
    int impl = 1;                // odd: three passes, even: single pass (lightning_prefill.cuh)
    int sp_chunk = 0;            // single-pass chunk (0 = default)
    int sp_hints = 1;
    int sp_lead = 0;             // impl 9: rounds the update walk may run ahead (0 = default)
};

// Whether kernel `impl` is selected by LP_IMPLS (all when unset).
bool selected(int impl) {
    const char* only = std::getenv("LP_IMPLS");
    return !only || std::strchr(only, '0' + impl) != nullptr;
}

void run_case(const Case& c, uint32_t base_seed) {
    if (!selected(c.impl)) return;
    const uint32_t seed = base_seed ^ std::random_device{}();
    std::mt19937 rng(seed);
    const int H = c.heads, D = 128, W = 3 * D;  // fused row per head: q | k | v
    std::vector<bf16> qkv(size_t(c.T) * H * W);
    std::vector<float> qkvf;
    m1::test::random_silu_bf16(rng, qkv, qkvf, 0.5f);
    std::vector<double> slopes_d(H);
    m1::ref::lightning_slopes(H, c.layer, 80, slopes_d.data());
    std::vector<float> slopes(slopes_d.begin(), slopes_d.end());
    for (int h = 0; h < H; ++h) slopes_d[h] = slopes[h];  // the kernel sees fp32 slopes
    std::vector<float> state0(size_t(H) * D * D, 0.f);
    if (c.with_state) {
        std::normal_distribution<float> nd(0.f, 2.f);
        for (auto& x : state0) x = nd(rng);
    }
    // CPU reference: the per-token recurrence in fp32.
    std::vector<float> q(size_t(c.T) * H * D), k(q.size()), v(q.size());
    for (int t = 0; t < c.T; ++t)
        for (int h = 0; h < H; ++h)
            for (int d = 0; d < D; ++d) {
                size_t src = (size_t(t) * H + h) * W + d, dst = (size_t(t) * H + h) * D + d;
                q[dst] = qkvf[src];
                k[dst] = qkvf[src + D];
                v[dst] = qkvf[src + 2 * D];
            }
    std::vector<float> ref_state = state0, ref_out(q.size());
    m1::ref::lightning_decode(q.data(), k.data(), v.data(), ref_state.data(), ref_out.data(), c.T, H, D,
                              slopes_d.data());

    DeviceBuffer<bf16> dqkv(qkv.size());
    dqkv.upload(qkv);
    DeviceBuffer<float> dslopes(H), dstate(state0.size());
    dslopes.upload(slopes);
    dstate.upload(state0);
    DeviceBuffer<bf16> dout(size_t(c.T) * H * D);
    std::vector<std::pair<int, int>> calls;
    if (c.split > 0) calls = {{0, c.split}, {c.split, c.T}};
    else calls = {{0, c.T}};
    for (auto [a, b] : calls) {
        m1::cuda::LightningPrefillParams p;
        p.q = dqkv.ptr + size_t(a) * H * W;
        p.k = p.q + D;
        p.v = p.q + 2 * D;
        p.tok_stride = H * W;
        p.head_stride = W;
        p.out = dout.ptr + size_t(a) * H * D;
        p.out_tok_stride = H * D;
        p.slopes = dslopes.ptr;
        p.state_in = c.with_state || a > 0 ? dstate.ptr : nullptr;
        p.state_out = dstate.ptr;
        p.tokens = b - a;
        p.heads = H;
        p.chunk = c.chunk ? c.chunk : m1::cuda::lightning_prefill_default_chunk(p.tokens, H, m1::test::sm_count());
        p.impl = c.impl;
        p.sp_chunk = c.sp_chunk;
        p.sp_l2_hints = c.sp_hints;
        p.sp_lead = c.sp_lead;
        size_t wsb = m1::cuda::lightning_prefill_workspace_bytes(p.tokens, H, p.chunk, p.impl);
        DeviceBuffer<unsigned char> ws(wsb);
        m1::cuda::lightning_prefill(p, ws.ptr, wsb, nullptr);
        M1_CUDA_CHECK(cudaDeviceSynchronize());
    }
    const double e_out = m1::test::rel_error(m1::test::to_float(dout.download()), ref_out);
    const double e_state = m1::test::rel_error(dstate.download(), ref_state);
    EXPECT_LT(e_out, 1e-2) << "T " << c.T << " heads " << H << " chunk " << c.chunk << " impl " << c.impl
                           << " seed " << seed;
    EXPECT_LT(e_state, 5e-3) << "T " << c.T << " heads " << H << " chunk " << c.chunk << " impl " << c.impl
                             << " seed " << seed;
    std::printf("lightning_prefill impl=%d T=%d heads=%d chunk=%d sp_chunk=%d lead=%d layer=%d state=%d split=%d "
                "seed=%u: out err %.2e, state err %.2e\n",
                c.impl, c.T, H, c.chunk, c.sp_chunk, c.sp_lead, c.layer, int(c.with_state), c.split, seed, e_out,
                e_state);
}

// Every case on every kernel.
void run_both(Case c, uint32_t seed) {
    for (int impl : {1, 2, 3, 4, 5, 6, 7, 8, 9}) {
        c.impl = impl;
        run_case(c, seed);
    }
}

TEST(LightningPrefill, ManyChunksWithInitialState) { run_both({1000, 2, 128, 10, true}, 1); }
TEST(LightningPrefill, DefaultChunkNoState) { run_both({333, 3, 0, 0, false}, 2); }
TEST(LightningPrefill, OneTokenAndTinyChunks) {
    run_both({1, 2, 64, 40, true}, 3);
    run_both({65, 1, 64, 78, false}, 4);
}
TEST(LightningPrefill, LongMemoryHeadsAcrossChunks) { run_both({2048 + 17, 8, 256, 78, true}, 5); }
TEST(LightningPrefill, ContinueStateInPlace) { run_both({777, 2, 64, 20, true, 300}, 6); }

// Single passes with 64-token chunks: 8 heads share the GPU's resident CTAs (16 per head on 132 SMs), so
// 6000 tokens take 6 rounds, the last one partial with CTAs past the end; slot reuse across rounds,
// round states, a fast-decay layer (0) and in-place continuation, with and without L2 hints.
TEST(LightningPrefill, SinglePassManyRounds) {
    for (int impl : {2, 4, 6, 8, 9}) {
        Case c{6000, 8, 0, 0, true, 0, impl, 64, 1};
        run_case(c, 7);
        c = {6000 - 37, 8, 0, 60, true, 2500, impl, 64, 0};
        run_case(c, 8);
    }
}
// The default single-pass chunks at a length that gives a full round plus a partial one (132 SMs).
TEST(LightningPrefill, SinglePassDefaultChunk) {
    run_case({50000, 2, 0, 78, true, 0, 2, 0, 1}, 9);
    run_case({40000, 2, 0, 78, true, 0, 4, 0, 1}, 10);  // 32 CTAs per head x 1024 tokens: one round and a part
    run_case({40000 - 5, 2, 0, 78, true, 0, 6, 0, 1}, 11);
    run_case({40000 - 5, 2, 0, 78, true, 0, 8, 0, 1}, 12);
    run_case({70000 - 3, 2, 0, 78, true, 0, 9, 0, 1}, 13);  // 32 CTAs per head x 2048 tokens: a round and a part
}

// impl 9 with its update walk held to one round ahead of the output walk (lead 1) and at the default (2): 128-token
// chunks at 8 heads (16 CTAs per head: 3 rounds; 2 + 5 rounds continuing the state in place, partial last rounds),
// and 3 heads of 64-token chunks (32 CTAs per head, 2 rounds, CTAs past the end).
TEST(LightningPrefill, TwoWalksLeadAndRounds) {
    Case c{6000 - 11, 8, 0, 40, true, 0, 9, 128, 1, 1};
    run_case(c, 14);
    c = {12288 + 100, 8, 0, 70, true, 4096, 9, 128, 0, 2};
    run_case(c, 15);
    c = {3000, 3, 0, 5, false, 0, 9, 64, 1, 1};
    run_case(c, 16);
}

}  // namespace
