// Softmax attention prefill kernel vs m1::ref::softmax_attention: causal GQA, head dim 128, a first chunk
// and later chunks that attend to earlier cached keys, odd sizes, padded row strides.
#include "kernels/attention_prefill.cuh"

#include "gpu/attention_test_support.h"
#include "m1/reference_ops.h"

namespace {

using m1::test::DeviceBuffer;
using bf16 = __nv_bfloat16;

// One case (fresh random inputs: the base seed mixed with a random draw, printed) through the mma.sync
// kernel, and through the wgmma and warp-specialized kernels where the GPU is a Hopper; the output is
// poisoned with NaN before every kernel.
void run(int T, int past, int heads, int kv_heads, int q_pad, uint32_t base_seed) {
    const uint32_t seed = base_seed ^ std::random_device{}();
    std::mt19937 rng(seed);
    const int D = 128, S = past + T;
    const int64_t q_row = heads * D + q_pad, kv_row = kv_heads * D;
    std::vector<bf16> qb(size_t(T) * q_row), kb(size_t(S) * kv_row), vb(kb.size());
    std::vector<float> qf, kf, vf;
    m1::test::random_normal_bf16(rng, qb, qf, 1.f);
    m1::test::random_normal_bf16(rng, kb, kf, 1.f);
    m1::test::random_normal_bf16(rng, vb, vf, 1.f);
    std::vector<float> q(size_t(T) * heads * D), ref(q.size());
    for (int t = 0; t < T; ++t)
        for (int i = 0; i < heads * D; ++i) q[size_t(t) * heads * D + i] = qf[t * q_row + i];
    m1::ref::softmax_attention(q.data(), kf.data(), vf.data(), ref.data(), T, past, heads, kv_heads, D);

    DeviceBuffer<bf16> dq(qb.size()), dk(kb.size()), dv(vb.size()), dout(size_t(T) * heads * D);
    dq.upload(qb);
    dk.upload(kb);
    dv.upload(vb);
    m1::cuda::AttentionPrefillParams p;
    p.q = dq.ptr;
    p.q_tok_stride = q_row;
    p.q_head_stride = D;
    p.k = dk.ptr;
    p.v = dv.ptr;
    p.kv_tok_stride = kv_row;
    p.kv_head_stride = D;
    p.out = dout.ptr;
    p.out_tok_stride = heads * D;
    p.q_tokens = T;
    p.q_start = past;
    p.heads = heads;
    p.kv_heads = kv_heads;
    int dev = 0, major = 0;
    M1_CUDA_CHECK(cudaGetDevice(&dev));
    M1_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev));
    std::vector<int> impls = {1};
    if (major == 9) impls.insert(impls.end(), {2, 3, 4, 5, 6, 7, 0});
    for (int impl : impls) {
        M1_CUDA_CHECK(cudaMemset(dout.ptr, 0xFF, dout.n * sizeof(bf16)));
        p.impl = impl;
        m1::cuda::attention_prefill(p, nullptr);
        M1_CUDA_CHECK(cudaDeviceSynchronize());
        const double e = m1::test::rel_error(m1::test::to_float(dout.download()), ref);
        EXPECT_LT(e, 1e-2) << "impl " << impl << " seed " << seed;
        std::printf("attention_prefill impl=%d T=%d past=%d heads=%d/%d seed=%u: err %.2e\n", impl, T, past, heads,
                    kv_heads, seed, e);
    }
}

TEST(AttentionPrefill, FirstChunkGqa8) { run(300, 0, 8, 1, 0, 21); }
TEST(AttentionPrefill, LaterChunkAttendsToCache) { run(200, 333, 8, 1, 64, 22); }
TEST(AttentionPrefill, TwoKvHeadsSmallChunks) {
    run(1, 0, 4, 2, 0, 23);
    run(1, 517, 4, 2, 0, 24);
    run(129, 64, 4, 2, 8, 25);
}
TEST(AttentionPrefill, LongerContext) { run(640, 1500, 8, 1, 0, 26); }
// Many K/V tiles (the stage ring wraps several times), a partial last query tile, a cache length that is
// not a multiple of the tile.
TEST(AttentionPrefill, ManyTilesOddSizes) {
    run(517, 2411, 8, 1, 8, 27);
    run(384, 1024, 8, 1, 0, 28);  // tiles aligned with the chunk, as in a first chunk of 128k tokens
}

}  // namespace
