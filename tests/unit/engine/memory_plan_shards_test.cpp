// Tensor-parallel shards, checked on the CPU: the slices tile every tensor exactly once, their bytes
// agree with the memory planner for M1, and a forward pass computed rank by rank from the slices and
// combined as parallel_shard.h says (sums, the shared sum of squares, the vocab gather) equals the
// unsharded one for every block, at 1, 2 and 4 ranks and both MoE splits.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>

#include "m1/memory_plan.h"
#include "m1/parallel_shard.h"
#include "m1/reference_ops.h"

namespace m1 {
namespace {

ModelConfig tiny() {
    ModelConfig c;
    c.hidden_size = 32;
    c.num_layers = 2;
    c.num_heads = 4;
    c.num_kv_heads = 2;
    c.head_dim = 8;
    c.rotary_dim = 4;
    c.rope_theta = 1e4;
    c.intermediate_size = 16;
    c.num_experts = 4;
    c.top_k = 2;
    c.vocab_size = 50;  // not a multiple of 4: the last rank's vocab slice is short
    c.layer_kinds = {LayerKind::Lightning, LayerKind::Softmax};
    return c;
}

ModelConfig m1_config() {
    ModelConfig c;
    c.hidden_size = 6144;
    c.num_layers = 80;
    c.num_heads = 64;
    c.num_kv_heads = 8;
    c.head_dim = 128;
    c.intermediate_size = 9216;
    c.num_experts = 32;
    c.top_k = 2;
    c.vocab_size = 200064;
    for (int l = 0; l < 80; ++l) c.layer_kinds.push_back(l % 8 == 7 ? LayerKind::Softmax : LayerKind::Lightning);
    return c;
}

using Mat = std::vector<float>;

struct Weights {  // every tensor of the tiny model, fp32, keyed by checkpoint name
    std::map<std::string, Mat> w;
    std::map<std::string, ExpectedTensor> meta;
    const Mat& at(TensorRole r, int layer = -1, int expert = -1) const { return w.at(tensor_name(r, layer, expert)); }
};

Weights random_weights(const ModelConfig& c, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> nd(0.f, 0.3f);
    Weights W;
    for (const auto& t : expected_tensors(c)) {
        int64_t n = 1;
        for (auto d : t.shape) n *= d;
        Mat m(static_cast<size_t>(n));
        for (auto& x : m) x = nd(rng);
        if (t.role == TensorRole::LinNorm) for (auto& x : m) x = 1.f + 0.2f * x;
        W.w[t.name] = std::move(m);
        W.meta[t.name] = t;
    }
    return W;
}

// The rows x cols block of a [rows, cols] tensor.
Mat slice(const Mat& full, int64_t full_cols, const ShardSlice& s) {
    Mat out;
    for (int64_t r = s.rows.begin; r < s.rows.end; ++r)
        for (int64_t c = s.cols.begin; c < s.cols.end; ++c) out.push_back(full[size_t(r * full_cols + c)]);
    return out;
}

Mat shard(const Weights& W, const ModelConfig& c, const TpShape& tp, TensorRole r, int layer = -1, int e = -1) {
    const auto& t = W.meta.at(tensor_name(r, layer, e));
    return slice(W.at(r, layer, e), t.shape.size() > 1 ? t.shape[1] : 1, shard_slice(c, t, tp));
}

Mat linear(const Mat& x, const Mat& w, int64_t T, int64_t N, int64_t K) {
    Mat y(size_t(T * N));
    ref::linear(x.data(), w.data(), y.data(), T, N, K);
    return y;
}

float silu(float x) { return x / (1.f + std::exp(-x)); }
float sigmoid(float x) { return 1.f / (1.f + std::exp(-x)); }

void expect_close(const Mat& got, const Mat& want, const char* what) {
    ASSERT_EQ(got.size(), want.size()) << what;
    double num = 0, den = 0;
    for (size_t i = 0; i < got.size(); ++i) {
        num += double(got[i] - want[i]) * (got[i] - want[i]);
        den += double(want[i]) * want[i];
    }
    EXPECT_LT(std::sqrt(num / (den + 1e-30)), 2e-6) << what;
}

// Lightning attention block on `heads` heads given the rank's qkv/gate/norm/out slices. Returns the
// partial [T, H] output; `sumsq` supplies the all-reduced sum of squares (filled by a first pass).
struct LightningPartial {
    Mat o;      // [T, heads*dh] before the norm
    Mat sumsq;  // [T] this rank's sum of squares of o
};

LightningPartial lightning_heads(const ModelConfig& c, const Mat& u, int64_t T, const Mat& wqkv, Range heads) {
    const int64_t H = c.hidden_size, dh = c.head_dim, nh = heads.size();
    Mat qkv = linear(u, wqkv, T, nh * 3 * dh, H);
    for (auto& x : qkv) x = silu(x);
    Mat q(size_t(T * nh * dh)), k(q.size()), v(q.size());
    for (int64_t t = 0; t < T; ++t)
        for (int64_t h = 0; h < nh; ++h)
            for (int64_t d = 0; d < dh; ++d) {
                size_t src = size_t(t * nh * 3 * dh + h * 3 * dh + d), dst = size_t((t * nh + h) * dh + d);
                q[dst] = qkv[src];
                k[dst] = qkv[src + dh];
                v[dst] = qkv[src + 2 * dh];
            }
    std::vector<double> all(size_t(c.num_heads));
    ref::lightning_slopes(c.num_heads, 0, c.num_layers, all.data());
    std::vector<double> slopes(all.begin() + heads.begin, all.begin() + heads.end);
    Mat state(size_t(nh * dh * dh), 0.f);
    LightningPartial p;
    p.o.resize(q.size());
    ref::lightning_prefill(q.data(), k.data(), v.data(), state.data(), p.o.data(), T, nh, dh, slopes.data(), 4);
    p.sumsq.assign(size_t(T), 0.f);
    for (int64_t t = 0; t < T; ++t)
        for (int64_t i = 0; i < nh * dh; ++i) p.sumsq[size_t(t)] += p.o[size_t(t * nh * dh + i)] * p.o[size_t(t * nh * dh + i)];
    return p;
}

Mat lightning_finish(const ModelConfig& c, const Mat& u, int64_t T, const LightningPartial& p, const Mat& total_sumsq,
                     const Mat& norm_w, const Mat& wgate, const Mat& wout, int64_t width) {
    const int64_t H = c.hidden_size, D = c.num_heads * c.head_dim;
    Mat g = linear(u, wgate, T, width, H);
    Mat y(size_t(T * width));
    for (int64_t t = 0; t < T; ++t) {
        float inv = 1.f / std::sqrt(total_sumsq[size_t(t)] / float(D) + 1e-6f);
        for (int64_t i = 0; i < width; ++i) {
            size_t at = size_t(t * width + i);
            y[at] = p.o[at] * inv * norm_w[size_t(i)] * sigmoid(g[at]);
        }
    }
    return linear(y, wout, T, H, width);
}

Mat softmax_block(const ModelConfig& c, const Mat& u, int64_t T, const Mat& wq, const Mat& wk, const Mat& wv,
                  const Mat& wo, int64_t nh, int64_t nkv) {
    const int64_t H = c.hidden_size, dh = c.head_dim;
    Mat q = linear(u, wq, T, nh * dh, H), k = linear(u, wk, T, nkv * dh, H), v = linear(u, wv, T, nkv * dh, H);
    ref::rope(q.data(), T, nh, dh, c.rotary_dim, c.rope_theta, 0);
    ref::rope(k.data(), T, nkv, dh, c.rotary_dim, c.rope_theta, 0);
    Mat o(size_t(T * nh * dh));
    ref::softmax_attention(q.data(), k.data(), v.data(), o.data(), T, 0, nh, nkv, dh);
    return linear(o, wo, T, H, nh * dh);
}

// MoE on one rank: route with the replicated router, run the experts (or expert slices) it holds.
Mat moe_rank(const ModelConfig& c, const Weights& W, const Mat& x, int64_t T, const TpShape& tp, int layer) {
    const int64_t H = c.hidden_size, E = c.num_experts, k = c.top_k;
    Mat logits = linear(x, W.at(TensorRole::Router, layer), T, E, H);
    std::vector<int32_t> ids(size_t(T * k));
    Mat wts(size_t(T * k));
    ref::router_topk(logits.data(), T, E, k, ids.data(), wts.data());
    Mat out(size_t(T * H), 0.f), y(static_cast<size_t>(H));
    for (int64_t e = tp.experts.begin; e < tp.experts.end; ++e) {
        Mat w1 = shard(W, c, tp, TensorRole::ExpertW1, layer, int(e));
        Mat w3 = shard(W, c, tp, TensorRole::ExpertW3, layer, int(e));
        Mat w2 = shard(W, c, tp, TensorRole::ExpertW2, layer, int(e));
        for (int64_t t = 0; t < T; ++t)
            for (int64_t j = 0; j < k; ++j) {
                if (ids[size_t(t * k + j)] != e) continue;
                ref::swiglu_expert(&x[size_t(t * H)], 1, H, tp.width.size(), w1.data(), w3.data(), w2.data(), y.data());
                for (int64_t i = 0; i < H; ++i) out[size_t(t * H + i)] += wts[size_t(t * k + j)] * y[size_t(i)];
            }
    }
    return out;
}

void add_into(Mat& acc, const Mat& x) {
    if (acc.empty()) acc.assign(x.size(), 0.f);
    for (size_t i = 0; i < x.size(); ++i) acc[i] += x[i];
}

TEST(TpShards, SlicesTileEveryTensorOnce) {
    for (const ModelConfig& c : {tiny(), m1_config()}) {
        for (int n : {1, 2, 4, 8}) {
            if (c.num_heads % n) continue;
            for (MoeSplit m : {MoeSplit::tensor, MoeSplit::expert}) {
                if (m == MoeSplit::expert && c.num_experts % n) continue;
                for (const auto& t : expected_tensors(c)) {
                    int64_t full = 1;
                    for (auto d : t.shape) full *= d;
                    int64_t sum = 0;
                    for (int r = 0; r < n; ++r) {
                        ShardSlice s = shard_slice(c, t, tp_shape(c, r, n, m));
                        sum += s.numel();
                        if (s.replicated) {
                            EXPECT_EQ(s.numel(), full) << t.name;
                        }
                    }
                    bool replicated = shard_slice(c, t, tp_shape(c, 0, n, m)).replicated;
                    bool kv_copies = (t.role == TensorRole::AttnK || t.role == TensorRole::AttnV) &&
                                     c.num_kv_heads < n;
                    int64_t copies = replicated ? n : kv_copies ? n / c.num_kv_heads : 1;
                    EXPECT_EQ(sum, full * copies) << t.name << " ranks " << n;
                }
            }
        }
    }
}

// What the CUDA loader allocates per GPU: its slices, the whole embedding, routers in fp32, the LM head in bf16.
TEST(TpShards, BytesAgreeWithThePlanner) {
    ModelConfig c = m1_config();
    for (int n : {1, 2, 4, 8}) {
        TpShape tp = tp_shape(c, n - 1, n, MoeSplit::tensor);
        uint64_t bytes = 0;
        for (const auto& t : expected_tensors(c)) {
            if (t.role == TensorRole::Embed) {
                bytes += uint64_t(t.shape[0] * t.shape[1]) * 2;
                continue;
            }
            const bool f32 = t.role == TensorRole::Router;
            bytes += uint64_t(shard_slice(c, t, tp).numel()) * (f32 ? 4 : 2);
        }
        EXPECT_EQ(bytes, per_gpu_memory(c, n, WeightPrecision::bf16, {}).weights) << n << " GPUs";
    }
}

TEST(TpShards, RejectsSplitsThatDoNotDivide) {
    ModelConfig c = m1_config();
    EXPECT_THROW(tp_shape(c, 0, 3, MoeSplit::tensor), std::invalid_argument);
    EXPECT_THROW(tp_shape(c, 0, 64 * 2, MoeSplit::tensor), std::invalid_argument);
    c.num_experts = 6;
    EXPECT_THROW(tp_shape(c, 0, 4, MoeSplit::expert), std::invalid_argument);
    EXPECT_NO_THROW(tp_shape(c, 0, 4, MoeSplit::tensor));
}

class TpForward : public ::testing::TestWithParam<std::tuple<int, MoeSplit>> {};

TEST_P(TpForward, RanksCombineToTheFullLayer) {
    const auto [n, moe] = GetParam();
    const ModelConfig c = tiny();
    const Weights W = random_weights(c, 7);
    const int64_t T = 11, H = c.hidden_size;
    std::mt19937 rng(3);
    std::normal_distribution<float> nd(0.f, 1.f);
    Mat u(size_t(T * H));
    for (auto& x : u) x = nd(rng);
    TpShape full = tp_shape(c, 0, 1, moe);

    // Lightning layer 0.
    LightningPartial fp = lightning_heads(c, u, T, W.at(TensorRole::LinQkv, 0), full.heads);
    Mat want_lin = lightning_finish(c, u, T, fp, fp.sumsq, W.at(TensorRole::LinNorm, 0), W.at(TensorRole::LinGate, 0),
                                    W.at(TensorRole::LinOut, 0), c.num_heads * c.head_dim);
    std::vector<LightningPartial> parts;
    Mat sumsq;
    for (int r = 0; r < n; ++r) {
        TpShape tp = tp_shape(c, r, n, moe);
        parts.push_back(lightning_heads(c, u, T, shard(W, c, tp, TensorRole::LinQkv, 0), tp.heads));
        add_into(sumsq, parts.back().sumsq);  // all-reduce #1: [T] sums of squares
    }
    Mat got_lin;
    for (int r = 0; r < n; ++r) {
        TpShape tp = tp_shape(c, r, n, moe);
        add_into(got_lin, lightning_finish(c, u, T, parts[size_t(r)], sumsq, shard(W, c, tp, TensorRole::LinNorm, 0),
                                           shard(W, c, tp, TensorRole::LinGate, 0),
                                           shard(W, c, tp, TensorRole::LinOut, 0), tp.heads.size() * c.head_dim));
    }
    expect_close(got_lin, want_lin, "lightning block");

    // Softmax layer 1 (GQA: at 4 ranks two ranks share each KV head).
    Mat want_sm = softmax_block(c, u, T, W.at(TensorRole::AttnQ, 1), W.at(TensorRole::AttnK, 1),
                                W.at(TensorRole::AttnV, 1), W.at(TensorRole::AttnO, 1), c.num_heads, c.num_kv_heads);
    Mat got_sm;
    for (int r = 0; r < n; ++r) {
        TpShape tp = tp_shape(c, r, n, moe);
        add_into(got_sm, softmax_block(c, u, T, shard(W, c, tp, TensorRole::AttnQ, 1), shard(W, c, tp, TensorRole::AttnK, 1),
                                       shard(W, c, tp, TensorRole::AttnV, 1), shard(W, c, tp, TensorRole::AttnO, 1),
                                       tp.heads.size(), tp.kv_heads.size()));
    }
    expect_close(got_sm, want_sm, "softmax block");

    // MoE of layer 1, against the reference MoE.
    std::vector<const float*> w1, w3, w2;
    for (int e = 0; e < c.num_experts; ++e) {
        w1.push_back(W.at(TensorRole::ExpertW1, 1, e).data());
        w3.push_back(W.at(TensorRole::ExpertW3, 1, e).data());
        w2.push_back(W.at(TensorRole::ExpertW2, 1, e).data());
    }
    Mat want_moe(size_t(T * H));
    ref::moe(u.data(), T, H, c.intermediate_size, c.num_experts, c.top_k, W.at(TensorRole::Router, 1).data(),
             w1.data(), w3.data(), w2.data(), want_moe.data());
    Mat got_moe;
    for (int r = 0; r < n; ++r) add_into(got_moe, moe_rank(c, W, u, T, tp_shape(c, r, n, moe), 1));
    expect_close(got_moe, want_moe, "MoE");

    // Embedding (vocab rows, zeros elsewhere, summed) and LM head (vocab rows, gathered with padding).
    const std::vector<int32_t> ids = {0, 12, 13, 49, 25, 37};
    const Mat& emb = W.at(TensorRole::Embed);
    Mat want_emb, got_emb(ids.size() * size_t(H), 0.f);
    for (int32_t id : ids) want_emb.insert(want_emb.end(), emb.begin() + id * H, emb.begin() + (id + 1) * H);
    for (int r = 0; r < n; ++r) {
        TpShape tp = tp_shape(c, r, n, moe);
        Mat rows = shard(W, c, tp, TensorRole::Embed);
        for (size_t t = 0; t < ids.size(); ++t)
            if (ids[t] >= tp.vocab.begin && ids[t] < tp.vocab.end)
                for (int64_t i = 0; i < H; ++i) got_emb[t * H + size_t(i)] += rows[size_t((ids[t] - tp.vocab.begin) * H + i)];
    }
    expect_close(got_emb, want_emb, "embedding");
    Mat want_logits = linear(u, W.at(TensorRole::LmHead), T, c.vocab_size, H);
    const int64_t pad = tp_shape(c, 0, n, moe).vocab_pad;
    Mat gathered(size_t(T * pad * n), -1e30f);
    for (int r = 0; r < n; ++r) {
        TpShape tp = tp_shape(c, r, n, moe);
        Mat part = linear(u, shard(W, c, tp, TensorRole::LmHead), T, tp.vocab.size(), H);
        for (int64_t t = 0; t < T; ++t)  // the all-gather lays rank r's slice at r * pad within a row
            for (int64_t v = 0; v < tp.vocab.size(); ++v)
                gathered[size_t(t * pad * n + r * pad + v)] = part[size_t(t * tp.vocab.size() + v)];
    }
    Mat got_logits;
    for (int64_t t = 0; t < T; ++t)
        got_logits.insert(got_logits.end(), gathered.begin() + t * pad * n, gathered.begin() + t * pad * n + c.vocab_size);
    expect_close(got_logits, want_logits, "LM head");
}

INSTANTIATE_TEST_SUITE_P(Ranks, TpForward,
                         ::testing::Combine(::testing::Values(1, 2, 4),
                                            ::testing::Values(MoeSplit::tensor, MoeSplit::expert)));

}  // namespace
}  // namespace m1
