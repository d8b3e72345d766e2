// The decode step's small kernels at M1's shapes (one token; the op tests in cuda_ops_test.cpp use small heads):
// RoPE + cache append (64 q heads, 8 KV heads, rotary 64 at a position past 128K), the embedding gather (16-byte
// path and the element path) and the gated norm (rows of 8192), against m1::ref on fresh random inputs with
// poisoned outputs.
#include <gtest/gtest.h>

#include <cstring>

#include "cuda_test_support.h"
#include "kernels/embed_gather.cuh"
#include "kernels/norm_rms.cuh"
#include "kernels/rope_partial.cuh"
#include "m1/reference_ops.h"

using namespace m1;
using namespace m1::test;
using bf16 = __nv_bfloat16;

namespace {

std::mt19937 rng(std::random_device{}());

TEST(DecodeOps, RopeAtM1Shape) {
    for (int T : {1, 3, 70}) {
        const int nh = 64, nkv = 8, dh = 128, rot = 64, pos0 = 131072 + 5, cap = pos0 + T, N = (nh + 2 * nkv) * dh;
        auto qkv = randn(std::size_t(T) * N, rng);
        Dev<float> dqkv(qkv);
        Dev<bf16> dq(std::size_t(T) * nh * dh), dk(std::size_t(cap) * nkv * dh), dv(std::size_t(cap) * nkv * dh);
        kern::RopeArgs a{dqkv.p, N, T, nh, nkv, dh, rot, 1e7f, pos0, dq.p, dk.p, dv.p, cap};
        kern::rope_qk_cache(a, nullptr);
        std::vector<float> q(std::size_t(T) * nh * dh), k(std::size_t(T) * nkv * dh), v(std::size_t(T) * nkv * dh);
        for (int t = 0; t < T; ++t) {
            std::memcpy(&q[std::size_t(t) * nh * dh], &qkv[std::size_t(t) * N], nh * dh * 4);
            std::memcpy(&k[std::size_t(t) * nkv * dh], &qkv[std::size_t(t) * N + nh * dh], nkv * dh * 4);
            std::memcpy(&v[std::size_t(t) * nkv * dh], &qkv[std::size_t(t) * N + (nh + nkv) * dh], nkv * dh * 4);
        }
        ref::rope(q.data(), T, nh, dh, rot, 1e7, pos0);
        ref::rope(k.data(), T, nkv, dh, rot, 1e7, pos0);
        EXPECT_LT(rel_err(from_bf16(dq.get()), q), 5e-3) << "T " << T;
        auto kc = from_bf16(dk.get()), vc = from_bf16(dv.get());
        std::vector<float> kn(kc.begin() + std::ptrdiff_t(pos0) * nkv * dh, kc.end());
        std::vector<float> vn(vc.begin() + std::ptrdiff_t(pos0) * nkv * dh, vc.end());
        EXPECT_LT(rel_err(kn, k), 5e-3) << "T " << T;
        EXPECT_LT(rel_err(vn, v), 5e-3) << "T " << T;
    }
}

TEST(DecodeOps, EmbeddingGatherBothPaths) {
    for (int H : {6144, 100, 8}) {  // 16-byte loads; an odd width (element path); one thread's worth
        const int V = 300, T = 3;
        auto table = round_bf16(randn(std::size_t(V) * H, rng));
        std::vector<int32_t> ids = {int32_t(rng() % V), V - 1, 0};
        Dev<bf16> dt(to_bf16(table));
        Dev<int32_t> di(ids);
        Dev<float> out(std::size_t(T) * H);
        kern::embed_gather(di.p, T, dt.p, H, out.p, nullptr);
        auto o = out.get();
        for (int t = 0; t < T; ++t)
            for (int c = 0; c < H; ++c)
                ASSERT_EQ(o[std::size_t(t) * H + c], table[std::size_t(ids[std::size_t(t)]) * H + c]) << H << " " << t << " " << c;
    }
}

TEST(DecodeOps, GatedNormOneRowOfM1Width) {
    for (int D : {8192, 6000}) {
        const int T = 1;
        auto o = round_bf16(randn(std::size_t(T) * D, rng)), g = randn(std::size_t(T) * D, rng), w = round_bf16(randn(D, rng));
        Dev<bf16> dob(to_bf16(o)), dw(to_bf16(w)), dout(std::size_t(T) * D);
        Dev<float> dg(g);
        kern::rmsnorm_gate(dob.p, dg.p, D, dw.p, 1e-6f, T, D, dout.p, nullptr);
        std::vector<float> ref(std::size_t(T) * D);
        ref::rmsnorm(o.data(), w.data(), ref.data(), T, D, 1e-6f);
        for (std::size_t i = 0; i < ref.size(); ++i) ref[i] *= 1.f / (1.f + std::exp(-g[i]));
        EXPECT_LT(rel_err(from_bf16(dout.get()), ref), 5e-3) << D;
    }
}

}  // namespace
