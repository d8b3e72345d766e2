// Op tests of the CUDA backend's kernels against the CPU reference (m1::ref) on fresh random inputs:
// norms, RoPE, embedding, router, MoE (grouped and decode paths, bf16 and int8 experts), sampling, and the
// dev attention kernels. Tolerances are bf16-appropriate; outputs start poisoned (NaN) so unwritten ones fail.
#include <gtest/gtest.h>

#include <cstring>

#include "cuda_test_support.h"
#include "kernels/act_silu.cuh"
#include "kernels/dev/attention_ref.cuh"
#include "kernels/embed_gather.cuh"
#include "kernels/moe_block.cuh"
#include "kernels/moe_dispatch.cuh"
#include "kernels/moe_router.cuh"
#include "kernels/norm_rms.cuh"
#include "kernels/quant_int8.cuh"
#include "kernels/rope_partial.cuh"
#include "kernels/sampling.cuh"
#include "m1/reference_ops.h"

using namespace m1;
using namespace m1::test;
using bf16 = __nv_bfloat16;

static std::mt19937 rng(std::random_device{}());

TEST(CudaOps, AddRmsNormMatchesReference) {
  for (int H : {384, 6144, 10000}) {  // rows held in registers (up to 8192), and the two-pass loop past that
    SCOPED_TRACE(H);
    const int T = 7;
    auto res = randn(T * H, rng), a = randn(T * H, rng), w = round_bf16(randn(H, rng));
    const float al = 3.5565588f, be = 1.f, eps = 1e-5f;
    Dev<float> dres(res), da(a);
    Dev<bf16> dw(to_bf16(w)), dyb(T * H);
    kern::add_rmsnorm(dres.p, da.p, al, be, dw.p, eps, T, H, dyb.p, nullptr);
    std::vector<float> s(T * H), ref(T * H);
    for (int i = 0; i < T * H; ++i) s[i] = res[i] * al + a[i] * be;
    ref::rmsnorm(s.data(), w.data(), ref.data(), T, H, eps);
    EXPECT_LT(rel_err(dres.get(), ref), 1e-5);
    EXPECT_LT(rel_err(from_bf16(dyb.get()), ref), 5e-3);
    Dev<float> dx(res), dy(T * H);
    kern::rmsnorm(dx.p, dw.p, eps, T, H, dy.p, nullptr, nullptr);
    ref::rmsnorm(res.data(), w.data(), ref.data(), T, H, eps);
    EXPECT_LT(rel_err(dy.get(), ref), 1e-5);
  }
}

TEST(CudaOps, RmsNormGateMatchesReference) {
  for (int D : {512, 8192, 9000}) {
    SCOPED_TRACE(D);
    const int T = 5;
    auto o = round_bf16(randn(T * D, rng)), g = randn(T * D, rng), w = round_bf16(randn(D, rng));
    Dev<bf16> dob(to_bf16(o)), dw(to_bf16(w)), dout(T * D);
    Dev<float> dg(g);
    kern::rmsnorm_gate(dob.p, dg.p, D, dw.p, 1e-6f, T, D, dout.p, nullptr);
    std::vector<float> ref(T * D);
    ref::rmsnorm(o.data(), w.data(), ref.data(), T, D, 1e-6f);
    for (int i = 0; i < T * D; ++i) ref[i] *= 1.f / (1.f + std::exp(-g[i]));
    EXPECT_LT(rel_err(from_bf16(dout.get()), ref), 5e-3);
  }
}

TEST(CudaOps, PartialRopeAndCacheAppendMatchReference) {
    for (int rot : {64, 128}) {
        const int T = 9, nh = 8, nkv = 2, dh = 128, pos0 = 1000, cap = pos0 + T, N = (nh + 2 * nkv) * dh;
        auto qkv = randn(T * N, rng);
        Dev<float> dqkv(qkv);
        Dev<bf16> dq(T * nh * dh), dk(std::size_t(cap) * nkv * dh), dv(std::size_t(cap) * nkv * dh);
        kern::RopeArgs a{dqkv.p, N, T, nh, nkv, dh, rot, 1e7f, pos0, dq.p, dk.p, dv.p, cap};
        kern::rope_qk_cache(a, nullptr);
        std::vector<float> q(T * nh * dh), k(T * nkv * dh), v(T * nkv * dh);
        for (int t = 0; t < T; ++t) {
            std::memcpy(&q[t * nh * dh], &qkv[t * N], nh * dh * 4);
            std::memcpy(&k[t * nkv * dh], &qkv[t * N + nh * dh], nkv * dh * 4);
            std::memcpy(&v[t * nkv * dh], &qkv[t * N + (nh + nkv) * dh], nkv * dh * 4);
        }
        ref::rope(q.data(), T, nh, dh, rot, 1e7, pos0);
        ref::rope(k.data(), T, nkv, dh, rot, 1e7, pos0);
        EXPECT_LT(rel_err(from_bf16(dq.get()), q), 5e-3) << "rotary_dim " << rot;
        auto kc = from_bf16(dk.get()), vc = from_bf16(dv.get());
        std::vector<float> kn(kc.begin() + std::size_t(pos0) * nkv * dh, kc.end());
        std::vector<float> vn(vc.begin() + std::size_t(pos0) * nkv * dh, vc.end());
        EXPECT_LT(rel_err(kn, k), 5e-3);
        EXPECT_LT(rel_err(vn, v), 5e-3);
    }
}

TEST(CudaOps, EmbeddingGather) {
    const int V = 50, H = 96, T = 11;
    auto table = round_bf16(randn(V * H, rng));
    std::vector<int32_t> ids(T);
    for (auto& i : ids) i = int(rng() % V);
    Dev<bf16> dt(to_bf16(table));
    Dev<int32_t> di(ids);
    Dev<float> out(T * H);
    kern::embed_gather(di.p, T, dt.p, H, out.p, nullptr);
    auto o = out.get();
    for (int t = 0; t < T; ++t)
        for (int c = 0; c < H; ++c) ASSERT_EQ(o[t * H + c], table[ids[t] * H + c]);
}

TEST(CudaOps, RouterMatchesReference) {
    const int T = 300, E = 32, k = 2;
    auto logits = randn(T * E, rng, 2.f);
    Dev<float> dl(logits), dw(T * k);
    Dev<int32_t> di(T * k);
    kern::moe_route(dl.p, T, E, k, di.p, dw.p, nullptr);
    std::vector<int32_t> rid(T * k);
    std::vector<float> rw(T * k);
    ref::router_topk(logits.data(), T, E, k, rid.data(), rw.data());
    EXPECT_EQ(di.get(), rid);
    EXPECT_LT(rel_err(dw.get(), rw), 1e-6);
}

// MoE block: fp32 router + experts vs ref::moe on bf16-rounded weights (int8: on the dequantised weights).
static void check_moe(int T, bool int8) {
    const int H = 256, I = 384, E = 8, k = 2;
    auto gate = randn(E * H, rng, 0.1f);
    auto x = round_bf16(randn(T * H, rng));
    auto w13 = round_bf16(randn(std::size_t(E) * 2 * I * H, rng, 0.05f));
    auto w2 = round_bf16(randn(std::size_t(E) * H * I, rng, 0.05f));
    Dev<bf16> d13(to_bf16(w13)), d2(to_bf16(w2)), dx(to_bf16(x));
    Dev<int8_t> q13(int8 ? w13.size() : 0), q2(int8 ? w2.size() : 0);
    Dev<float> s13(int8 ? E * 2 * I : 0), s2(int8 ? E * H : 0), dgate(gate), dxf(x), out(T * H);
    kern::ExpertWeights ew{E, H, I};
    if (int8) {
        kern::quantize_rows_int8(d13.p, E * 2 * I, H, q13.p, s13.p, nullptr);
        kern::quantize_rows_int8(d2.p, E * H, I, q2.p, s2.p, nullptr);
        kern::dequantize_rows_int8(q13.p, s13.p, E * 2 * I, H, d13.p, nullptr);  // what the reference sees
        kern::dequantize_rows_int8(q2.p, s2.p, E * H, I, d2.p, nullptr);
        w13 = from_bf16(d13.get());
        w2 = from_bf16(d2.get());
        ew.q13 = q13.p; ew.s13 = s13.p; ew.q2 = q2.p; ew.s2 = s2.p;
    } else {
        ew.w13 = d13.p; ew.w2 = d2.p;
    }
    kern::Blas blas(nullptr);
    Dev<uint8_t> scratch(kern::moe_scratch_bytes(T, k, ew));
    auto s = kern::moe_carve(scratch.p, T, k, ew);
    int32_t* host_counts = nullptr;
    M1_CUDA_CHECK(cudaMallocHost(&host_counts, E * 4));
    kern::moe_forward(blas, dgate.p, ew, dxf.p, dx.p, T, k, s, host_counts, out.p);
    cudaFreeHost(host_counts);
    std::vector<const float*> p1(E), p3(E), p2(E);
    for (int e = 0; e < E; ++e) {
        p1[e] = &w13[std::size_t(e) * 2 * I * H];
        p3[e] = &w13[std::size_t(e) * 2 * I * H + std::size_t(I) * H];
        p2[e] = &w2[std::size_t(e) * H * I];
    }
    std::vector<float> ref(T * H);
    ref::moe(x.data(), T, H, I, E, k, gate.data(), p1.data(), p3.data(), p2.data(), ref.data());
    EXPECT_LT(rel_err(out.get(), ref), 1e-2) << "T " << T << (int8 ? " int8" : " bf16");
}

// SwiGLU over fp32 gate|up rows and the SiLU of the lightning projection (fp32 in, bf16 out): each output within one bf16
// rounding of the fp32 value (vectorised widths and a width that takes the one-value-at-a-time kernels).
static float silu_f(float v) { return v / (1.f + std::exp(-v)); }
static void expect_within_one_rounding(const std::vector<float>& got, const std::vector<float>& want) {
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i)
        ASSERT_LE(std::fabs(got[i] - want[i]), std::ldexp(std::fabs(want[i]), -8) + 1e-30f)
            << "at " << i << ": " << got[i] << " vs " << want[i];
}
TEST(CudaOps, SwigluAndSiluOnBf16) {
    for (int I : {1152, 384, 22}) {
        const int R = 37;
        const auto gu = randn(std::size_t(R) * 2 * I, rng, 3.f);
        Dev<float> dgu(gu);
        Dev<bf16> dh(std::size_t(R) * I);
        kern::swiglu(dgu.p, R, I, dh.p, nullptr);
        std::vector<float> want(std::size_t(R) * I);
        for (int r = 0; r < R; ++r)
            for (int i = 0; i < I; ++i) {
                const float g = gu[std::size_t(r) * 2 * I + i], u = gu[std::size_t(r) * 2 * I + I + i];
                want[std::size_t(r) * I + i] = silu_f(g) * u;
            }
        SCOPED_TRACE("swiglu I " + std::to_string(I));
        expect_within_one_rounding(from_bf16(dh.get()), want);
    }
    for (std::size_t n : {std::size_t(8) * 3001, std::size_t(1001)}) {
        const auto x = randn(n, rng, 4.f);
        Dev<float> dx(x);
        Dev<bf16> dy(n);
        kern::silu_to_bf16(dx.p, n, dy.p, nullptr);
        std::vector<float> want(n);
        for (std::size_t i = 0; i < n; ++i) want[i] = silu_f(x[i]);
        SCOPED_TRACE("silu n " + std::to_string(n));
        expect_within_one_rounding(from_bf16(dy.get()), want);
    }
}

TEST(CudaOps, MoeGroupedPathMatchesReference) { check_moe(200, false); }
TEST(CudaOps, MoeDecodePathMatchesReference) { check_moe(1, false); check_moe(3, false); }
TEST(CudaOps, MoeInt8ExpertsMatchDequantisedReference) { check_moe(1, true); check_moe(100, true); }

TEST(CudaOps, Int8QuantisationErrorIsSmall) {
    const int N = 64, K = 1024;
    auto w = round_bf16(randn(N * K, rng, 0.02f));
    Dev<bf16> dw(to_bf16(w)), back(N * K);
    Dev<int8_t> q(N * K);
    Dev<float> s(N);
    kern::quantize_rows_int8(dw.p, N, K, q.p, s.p, nullptr);
    kern::dequantize_rows_int8(q.p, s.p, N, K, back.p, nullptr);
    const double e = rel_err(from_bf16(back.get()), w);
    EXPECT_LT(e, 1.5e-2);  // uniform rounding of a Gaussian row at 1/127 of its max
    EXPECT_GT(e, 1e-4);    // and it really is quantised
}

TEST(CudaOps, SamplingGreedyTopKTopP) {
    const int V = 200064;
    auto logits = randn(V, rng, 3.f);
    logits[12345] = 40.f;
    Dev<float> dl(logits);
    Dev<int32_t> out(1);
    kern::SampleParams p;
    p.greedy = true;
    kern::sample_token(dl.p, V, p, 0, out.p, nullptr);
    EXPECT_EQ(out.get()[0], 12345);
    // top_k = 1 always gives the argmax whatever the temperature.
    p = {};
    p.temperature = 5.f;
    p.top_k = 1;
    for (int s = 0; s < 5; ++s) {
        kern::sample_token(dl.p, V, p, uint64_t(s), out.p, nullptr);
        EXPECT_EQ(out.get()[0], 12345);
    }
    // Three live tokens with probabilities 0.5, 0.3, 0.2: top_p 0.75 keeps the first two; frequencies match.
    std::vector<float> small(1000, -1e30f);
    small[3] = std::log(0.5f);
    small[500] = std::log(0.3f);
    small[999] = std::log(0.2f);
    Dev<float> ds(small);
    p = {};
    p.top_p = 0.75f;
    p.seed = 42;
    int c3 = 0, c500 = 0, other = 0;
    const int n = 2000;
    Dev<int32_t> outs(1);
    for (int s = 0; s < n; ++s) {
        kern::sample_token(ds.p, 1000, p, uint64_t(s), outs.p, nullptr);
        const int id = outs.get()[0];
        (id == 3 ? c3 : id == 500 ? c500 : other)++;
    }
    EXPECT_EQ(other, 0);
    EXPECT_NEAR(double(c3) / n, 0.625, 0.04);
    // Same seed and step, same token.
    kern::sample_token(ds.p, 1000, p, 7, outs.p, nullptr);
    const int a = outs.get()[0];
    kern::sample_token(ds.p, 1000, p, 7, outs.p, nullptr);
    EXPECT_EQ(outs.get()[0], a);
}

TEST(CudaOps, DevLightningMatchesReference) {
    const int T = 77, nh = 4, dh = 32;
    auto q = round_bf16(randn(T * nh * dh, rng, 0.5f)), k = round_bf16(randn(T * nh * dh, rng, 0.5f)),
         v = round_bf16(randn(T * nh * dh, rng, 0.5f)), S0 = randn(nh * dh * dh, rng, 0.1f);
    // Fused layout [T, nh, 3, dh].
    std::vector<float> fused(T * nh * 3 * dh);
    for (int t = 0; t < T; ++t)
        for (int h = 0; h < nh; ++h)
            for (int d = 0; d < dh; ++d) {
                const int src = (t * nh + h) * dh + d, dst = (t * nh + h) * 3 * dh + d;
                fused[dst] = q[src];
                fused[dst + dh] = k[src];
                fused[dst + 2 * dh] = v[src];
            }
    std::vector<double> slopes(nh);
    ref::lightning_slopes(nh, 3, 8, slopes.data());
    std::vector<float> sl(slopes.begin(), slopes.end());
    Dev<bf16> dqkv(to_bf16(fused)), dout(T * nh * dh);
    Dev<float> dS(S0), dsl(sl);
    cuda::LightningPrefillParams p;
    p.q = dqkv.p; p.k = dqkv.p + dh; p.v = dqkv.p + 2 * dh;
    p.tok_stride = nh * 3 * dh; p.head_stride = 3 * dh;
    p.out = dout.p; p.out_tok_stride = nh * dh;
    p.slopes = dsl.p; p.state_in = dS.p; p.state_out = dS.p; p.tokens = T; p.heads = nh;
    cuda::dev::lightning_recurrent(p, dh, nullptr);
    std::vector<float> S = S0, o(T * nh * dh);
    ref::lightning_decode(q.data(), k.data(), v.data(), S.data(), o.data(), T, nh, dh, slopes.data());
    EXPECT_LT(rel_err(from_bf16(dout.get()), o), 5e-3);
    EXPECT_LT(rel_err(dS.get(), S), 1e-5);
}

TEST(CudaOps, DevSoftmaxAttentionMatchesReference) {
    const int past = 40, T = 13, nh = 4, nkv = 2, dh = 32, S = past + T;
    auto q = round_bf16(randn(T * nh * dh, rng)), k = round_bf16(randn(S * nkv * dh, rng)),
         v = round_bf16(randn(S * nkv * dh, rng));
    Dev<bf16> dq(to_bf16(q)), dk(to_bf16(k)), dv(to_bf16(v)), dout(T * nh * dh);
    cuda::AttentionPrefillParams p;
    p.q = dq.p; p.q_tok_stride = nh * dh; p.q_head_stride = dh;
    p.k = dk.p; p.v = dv.p; p.kv_tok_stride = nkv * dh; p.kv_head_stride = dh;
    p.out = dout.p; p.out_tok_stride = nh * dh;
    p.q_tokens = T; p.q_start = past; p.heads = nh; p.kv_heads = nkv; p.scale = 1.f / std::sqrt(float(dh));
    cuda::dev::attention_naive(p, dh, nullptr);
    std::vector<float> o(T * nh * dh);
    ref::softmax_attention(q.data(), k.data(), v.data(), o.data(), T, past, nh, nkv, dh);
    EXPECT_LT(rel_err(from_bf16(dout.get()), o), 5e-3);
}
