// Lightning decode kernel vs the CPU recurrence: several sequences in M1's fused qkv layout, random
// initial states, a few steps in a row (the state is updated in place on both sides).
#include "kernels/lightning_decode.cuh"

#include "gpu/attention_test_support.h"
#include "m1/reference_ops.h"

namespace {

using m1::test::DeviceBuffer;
using bf16 = __nv_bfloat16;

void run(int batch, int heads, int steps, int layer, uint32_t seed) {
    std::mt19937 rng(seed);
    const int D = 128, W = 3 * D;
    std::vector<double> slopes_d(heads);
    m1::ref::lightning_slopes(heads, layer, 80, slopes_d.data());
    std::vector<float> slopes(slopes_d.begin(), slopes_d.end());
    for (int h = 0; h < heads; ++h) slopes_d[h] = slopes[h];
    const size_t state_per_seq = size_t(heads) * D * D;
    std::vector<float> state(batch * state_per_seq);
    std::normal_distribution<float> nd(0.f, 1.f);
    for (auto& x : state) x = nd(rng);
    std::vector<float> ref_state = state;

    DeviceBuffer<float> dslopes(heads), dstate(state.size());
    dslopes.upload(slopes);
    dstate.upload(state);
    DeviceBuffer<bf16> dqkv(size_t(batch) * heads * W);
    const int64_t out_stride = heads * D + 64;  // a padded output row, to exercise the stride
    DeviceBuffer<bf16> dout(size_t(batch) * out_stride);
    for (int step = 0; step < steps; ++step) {
        std::vector<bf16> qkv(size_t(batch) * heads * W);
        std::vector<float> qkvf;
        m1::test::random_silu_bf16(rng, qkv, qkvf);
        dqkv.upload(qkv);
        m1::cuda::LightningDecodeParams p;
        p.q = dqkv.ptr;
        p.k = dqkv.ptr + D;
        p.v = dqkv.ptr + 2 * D;
        p.qkv_batch_stride = heads * W;
        p.qkv_head_stride = W;
        p.state = dstate.ptr;
        p.state_batch_stride = state_per_seq;
        p.out = dout.ptr;
        p.out_batch_stride = out_stride;
        p.slopes = dslopes.ptr;
        p.batch = batch;
        p.heads = heads;
        m1::cuda::lightning_decode(p, nullptr);
        M1_CUDA_CHECK(cudaDeviceSynchronize());
        std::vector<float> got_all = m1::test::to_float(dout.download()), got, ref;
        for (int b = 0; b < batch; ++b) {
            std::vector<float> q(heads * D), k(heads * D), v(heads * D), o(heads * D);
            for (int h = 0; h < heads; ++h)
                for (int d = 0; d < D; ++d) {
                    size_t src = (size_t(b) * heads + h) * W + d;
                    q[h * D + d] = qkvf[src];
                    k[h * D + d] = qkvf[src + D];
                    v[h * D + d] = qkvf[src + 2 * D];
                }
            m1::ref::lightning_decode(q.data(), k.data(), v.data(), ref_state.data() + b * state_per_seq, o.data(), 1,
                                      heads, D, slopes_d.data());
            ref.insert(ref.end(), o.begin(), o.end());
            got.insert(got.end(), got_all.begin() + b * out_stride, got_all.begin() + b * out_stride + heads * D);
        }
        const double e = m1::test::rel_error(got, ref);
        EXPECT_LT(e, 1e-2) << "step " << step;
        std::printf("lightning_decode batch=%d heads=%d step=%d: out err %.2e\n", batch, heads, step, e);
    }
    const double es = m1::test::rel_error(dstate.download(), ref_state);
    EXPECT_LT(es, 1e-5);
    std::printf("lightning_decode batch=%d heads=%d: state err after %d steps %.2e\n", batch, heads, steps, es);
}

TEST(LightningDecode, OneSequenceEightHeads) { run(1, 8, 4, 3, 11); }
TEST(LightningDecode, SeveralSequences) { run(5, 3, 3, 60, 12); }

}  // namespace
