// Op test of kernels/lm_head: fp32 products against bf16 (M1's LM head) or fp32 (the router) weights, few rows
// through the matrix-vector kernel and many through the widened-tile GEMM, against a float64 CPU reference on
// fresh random inputs. The bound is fp32's: a bf16 rounding of x or TF32 anywhere would miss it by 10x or more.
#include <gtest/gtest.h>

#include <cmath>

#include "cuda_test_support.h"
#include "kernels/gemm_cublas.cuh"
#include "kernels/lm_head.cuh"

using namespace m1;
using namespace m1::test;
using bf16 = __nv_bfloat16;

namespace {

std::mt19937 rng(std::random_device{}());

struct Case {
    int rows, N, K, ldx, ldo;
    kern::WeightType type;
};

std::string name(const Case& c) {
    return std::string(c.type == kern::WeightType::BF16 ? "bf16" : "fp32") + " rows " + std::to_string(c.rows) + " N " +
           std::to_string(c.N) + " K " + std::to_string(c.K) + " ldx " + std::to_string(c.ldx) + " ldo " +
           std::to_string(c.ldo);
}

// Runs one case through kern::lm_head and checks every output element: |out - ref| <= 2e-6 * sum_k |x w|, and
// the columns past N in each row untouched (still the NaN poison).
void check(const Case& c, kern::Blas& blas) {
    auto x = randn(std::size_t(c.rows) * c.ldx, rng);
    auto w = randn(std::size_t(c.N) * c.K, rng, 0.05f);
    if (c.type == kern::WeightType::BF16) w = round_bf16(w);  // what the bf16 weights hold, exactly
    Dev<float> dx(x), dout(std::size_t(c.rows) * c.ldo);
    Dev<bf16> dwb(c.type == kern::WeightType::BF16 ? to_bf16(w) : std::vector<bf16>());
    Dev<float> dwf(c.type == kern::WeightType::F32 ? w : std::vector<float>());
    const kern::RowWeights rw{c.type == kern::WeightType::BF16 ? static_cast<const void*>(dwb.p) : dwf.p, c.type, c.N, c.K};
    Dev<char> scratch(kern::lm_head_scratch_bytes(rw, c.rows));
    kern::lm_head(blas, dx.p, c.ldx, c.rows, rw, dout.p, c.ldo, scratch.p);
    M1_CUDA_CHECK(cudaStreamSynchronize(blas.stream()));
    const auto out = dout.get();
    double worst = 0;
    int bad = 0;
    for (int r = 0; r < c.rows; ++r) {
        for (int n = 0; n < c.N; ++n) {
            double ref = 0, mag = 0;
            for (int k = 0; k < c.K; ++k) {
                const double p = double(x[std::size_t(r) * c.ldx + k]) * w[std::size_t(n) * c.K + k];
                ref += p;
                mag += std::fabs(p);
            }
            const float o = out[std::size_t(r) * c.ldo + n];
            const double e = std::isfinite(o) ? std::fabs(o - ref) / (mag + 1e-30) : 1e30;
            worst = std::max(worst, e);
            if (e > 2e-6 && bad++ < 3) ADD_FAILURE() << name(c) << ": out[" << r << ", " << n << "] = " << o << ", ref " << ref;
        }
        for (int n = c.N; n < c.ldo; ++n)
            EXPECT_TRUE(std::isnan(out[std::size_t(r) * c.ldo + n])) << name(c) << ": wrote past N at row " << r;
    }
    EXPECT_EQ(bad, 0) << name(c) << ": worst error " << worst << " of sum |x w|";
    std::printf("[lm_head] %-44s worst |err| / sum|xw| = %.2e\n", name(c).c_str(), worst);
}

}  // namespace

TEST(LmHead, FewRowsMatchFloat64) {
    cudaStream_t st;
    M1_CUDA_CHECK(cudaStreamCreate(&st));
    {
        kern::Blas blas(st);
        for (auto t : {kern::WeightType::BF16, kern::WeightType::F32}) {
            for (int rows : {1, 2, 3, 5, 8}) check({rows, 5003, 6144, 6144, 5003, t}, blas);  // warp per row
            check({2, 5003, 100, 100, 5003, t}, blas);      // warp per row, the scalar path
            check({1, 32, 6144, 6144, 32, t}, blas);       // the router's shape: a block per row
            check({4, 37, 1024, 1040, 40, t}, blas);       // strided x and out
            check({2, 300, 200, 200, 300, t}, blas);       // K % 8 == 0, short rows
            check({3, 129, 100, 101, 131, t}, blas);       // K % 8 != 0, unaligned x rows: the scalar path
        }
    }
    M1_CUDA_CHECK(cudaStreamDestroy(st));
}

TEST(LmHead, ManyRowsThroughWidenedTilesMatchFloat64) {
    cudaStream_t st;
    M1_CUDA_CHECK(cudaStreamCreate(&st));
    {
        kern::Blas blas(st);
        // N spans three tiles of kLmHeadTileRows, the last one partial.
        check({37, 2 * kern::kLmHeadTileRows + 301, 512, 512, 2 * kern::kLmHeadTileRows + 301, kern::WeightType::BF16}, blas);
        check({9, 700, 264, 264, 704, kern::WeightType::BF16}, blas);
        check({20, 700, 264, 264, 700, kern::WeightType::F32}, blas);  // fp32 weights: cuBLAS directly
    }
    M1_CUDA_CHECK(cudaStreamDestroy(st));
}

TEST(LmHead, WidenIsExact) {
    const std::size_t n = 100003;  // not a multiple of 8: the tail kernel too
    auto v = round_bf16(randn(n, rng, 3.f));
    Dev<bf16> src(to_bf16(v));
    Dev<float> dst(n);
    kern::widen_bf16(src.p, n, dst.p, nullptr);
    const auto out = dst.get();
    for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(out[i], v[i]) << "at " << i;
}
