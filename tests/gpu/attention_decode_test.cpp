// Softmax attention decode (split-K) vs m1::ref::softmax_attention with one query per sequence:
// sequences of different lengths in one batch, several split counts, GQA 8:1 and 4:2.
#include "kernels/attention_decode.cuh"

#include "gpu/attention_test_support.h"
#include "m1/reference_ops.h"

namespace {

using m1::test::DeviceBuffer;
using bf16 = __nv_bfloat16;

void run(const std::vector<int>& lens, int heads, int kv_heads, int splits, uint32_t seed) {
    std::mt19937 rng(seed);
    const int D = 128, B = int(lens.size());
    int max_len = 0;
    for (int l : lens) max_len = std::max(max_len, l);
    const int64_t kv_tok = kv_heads * D, kv_batch = int64_t(max_len) * kv_tok;
    std::vector<bf16> qb(size_t(B) * heads * D), kb(size_t(B) * kv_batch), vb(kb.size());
    std::vector<float> qf, kf, vf;
    m1::test::random_normal_bf16(rng, qb, qf, 1.f);
    m1::test::random_normal_bf16(rng, kb, kf, 1.f);
    m1::test::random_normal_bf16(rng, vb, vf, 1.f);
    std::vector<float> ref(size_t(B) * heads * D);
    for (int b = 0; b < B; ++b)
        m1::ref::softmax_attention(qf.data() + size_t(b) * heads * D, kf.data() + b * kv_batch,
                                   vf.data() + b * kv_batch, ref.data() + size_t(b) * heads * D, 1, lens[b] - 1, heads,
                                   kv_heads, D);
    DeviceBuffer<bf16> dq(qb.size()), dk(kb.size()), dv(vb.size()), dout(ref.size());
    DeviceBuffer<int> dlens(B);
    dq.upload(qb);
    dk.upload(kb);
    dv.upload(vb);
    dlens.upload(lens);
    m1::cuda::AttentionDecodeParams p;
    p.q = dq.ptr;
    p.q_batch_stride = heads * D;
    p.q_head_stride = D;
    p.k = dk.ptr;
    p.v = dv.ptr;
    p.kv_batch_stride = kv_batch;
    p.kv_tok_stride = kv_tok;
    p.kv_head_stride = D;
    p.seq_lens = dlens.ptr;
    p.out = dout.ptr;
    p.out_batch_stride = heads * D;
    p.batch = B;
    p.heads = heads;
    p.kv_heads = kv_heads;
    p.max_len = max_len;
    p.splits = splits ? splits : m1::cuda::attention_decode_default_splits(B, kv_heads, max_len, m1::test::sm_count());
    const size_t wsb = m1::cuda::attention_decode_workspace_bytes(B, heads, p.splits);
    DeviceBuffer<unsigned char> ws(wsb);
    m1::cuda::attention_decode(p, ws.ptr, wsb, nullptr);
    M1_CUDA_CHECK(cudaDeviceSynchronize());
    const double e = m1::test::rel_error(m1::test::to_float(dout.download()), ref);
    EXPECT_LT(e, 1e-2);
    std::printf("attention_decode batch=%d heads=%d/%d max_len=%d splits=%d: err %.2e\n", B, heads, kv_heads, max_len,
                p.splits, e);
}

TEST(AttentionDecode, MixedLengthsDefaultSplits) { run({1, 777, 5000}, 8, 1, 0, 31); }
TEST(AttentionDecode, OneSplitAndOddSplits) {
    run({3000}, 8, 1, 1, 32);
    run({3000, 65, 64}, 8, 1, 7, 33);
}
TEST(AttentionDecode, TwoKvHeads) { run({100, 4097}, 8, 2, 0, 34); }
TEST(AttentionDecode, LongContext) { run({40000}, 8, 1, 0, 35); }

}  // namespace
