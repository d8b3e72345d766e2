// Expert-parallel MoE on one GPU: every rank's call (its own range of whole experts, the router over all
// of them) writes a partial [T, H]; the partials of all ranks must sum to the all-experts output. Covers the
// decode path (T*k <= 16) and the grouped path, bf16 and int8 experts, 2 and 4 ranks, on fresh random data.
#include <gtest/gtest.h>

#include <cmath>

#include "cuda_test_support.h"
#include "kernels/moe_block.cuh"
#include "kernels/quant_int8.cuh"

using namespace m1;
using namespace m1::test;
using bf16 = __nv_bfloat16;

namespace {

std::mt19937 rng(std::random_device{}());

void check_split(int T, bool int8, int ranks) {
    const int H = 256, I = 384, E = 8, k = 2;
    auto gate = randn(E * H, rng, 0.1f);
    auto x = round_bf16(randn(T * H, rng));
    Dev<bf16> d13(to_bf16(randn(std::size_t(E) * 2 * I * H, rng, 0.05f)));
    Dev<bf16> d2(to_bf16(randn(std::size_t(E) * H * I, rng, 0.05f))), dx(to_bf16(x));
    Dev<int8_t> q13(int8 ? std::size_t(E) * 2 * I * H : 0), q2(int8 ? std::size_t(E) * H * I : 0);
    Dev<float> s13(int8 ? E * 2 * I : 0), s2(int8 ? E * H : 0), dgate(gate), dxf(x);
    kern::ExpertWeights all{E, H, I};
    if (int8) {
        kern::quantize_rows_int8(d13.p, E * 2 * I, H, q13.p, s13.p, nullptr);
        kern::quantize_rows_int8(d2.p, E * H, I, q2.p, s2.p, nullptr);
        all.q13 = q13.p; all.s13 = s13.p; all.q2 = q2.p; all.s2 = s2.p;
    } else {
        all.w13 = d13.p; all.w2 = d2.p;
    }
    kern::Blas blas(nullptr);
    Dev<uint8_t> scratch(kern::moe_scratch_bytes(T, k, all));
    auto s = kern::moe_carve(scratch.p, T, k, all);
    int32_t* host_counts = nullptr;
    M1_CUDA_CHECK(cudaMallocHost(&host_counts, E * 4));
    std::vector<float> poison(std::size_t(T) * H, std::nanf(""));
    Dev<float> out(poison);
    kern::moe_forward(blas, dgate.p, all, dxf.p, dx.p, T, k, s, host_counts, out.p);
    const auto want = out.get();

    // Rank r holds experts [r*E/n, (r+1)*E/n): its weight pointers start at its first expert.
    std::vector<double> sum(std::size_t(T) * H, 0.0);
    const int per = E / ranks;
    int ranks_with_work = 0;
    for (int r = 0; r < ranks; ++r) {
        kern::ExpertWeights w = all;
        w.e_begin = r * per;
        w.e_count = per;
        const std::size_t e0 = std::size_t(w.e_begin);
        if (int8) {
            w.q13 = all.q13 + e0 * 2 * I * H; w.s13 = all.s13 + e0 * 2 * I;
            w.q2 = all.q2 + e0 * H * I; w.s2 = all.s2 + e0 * H;
        } else {
            w.w13 = all.w13 + e0 * 2 * I * H; w.w2 = all.w2 + e0 * H * I;
        }
        Dev<float> part(poison);  // every row must be written, zeros where no pair is held
        kern::moe_forward(blas, dgate.p, w, dxf.p, dx.p, T, k, s, host_counts, part.p);
        const auto got = part.get();
        double mass = 0;
        for (std::size_t i = 0; i < got.size(); ++i) {
            ASSERT_FALSE(std::isnan(got[i])) << "rank " << r << " left element " << i << " unwritten";
            sum[i] += got[i];
            mass += std::fabs(got[i]);
        }
        ranks_with_work += mass > 0;
    }
    cudaFreeHost(host_counts);
    double num = 0, den = 0;
    for (std::size_t i = 0; i < sum.size(); ++i) {
        num += (sum[i] - want[i]) * (sum[i] - want[i]);
        den += double(want[i]) * want[i];
    }
    // Only the order of the fp32 sums differs (each rank sums its own pairs, then the ranks are added).
    EXPECT_LT(std::sqrt(num / den), 1e-5) << "T " << T << (int8 ? " int8" : " bf16") << " ranks " << ranks;
    if (T >= 16) {
        EXPECT_EQ(ranks_with_work, ranks) << "random routing of many tokens reaches every rank";
    }
}

}  // namespace

TEST(TpMoeExpertParallel, DecodePathPartialsSumToAllExperts) {
    for (int ranks : {2, 4}) {
        check_split(1, false, ranks);
        check_split(5, false, ranks);
        check_split(1, true, ranks);
    }
}

TEST(TpMoeExpertParallel, GroupedPathPartialsSumToAllExperts) {
    for (int ranks : {2, 4}) {
        check_split(300, false, ranks);
        check_split(120, true, ranks);
    }
}
