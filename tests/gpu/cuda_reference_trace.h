// The fp32 forward pass of the CPU engine rebuilt from the reference ops with its intermediates kept per
// layer (router logits, chosen experts, the next layer's normalised input), so that the GPU can be checked
// layer by layer (set_cuda_trace) and a routing difference traced to its first token and layer.
#pragma once
#include <algorithm>
#include <cmath>
#include <vector>

#include "m1/model.h"
#include "m1/reference_ops.h"

namespace m1::test {

struct RefLayer {
    std::vector<float> router_logits;  // [T, E]
    std::vector<int32_t> experts;      // [T, k]
    std::vector<float> residual;       // [T, H]: rmsnorm of the layer's output by the next layer's input norm
};

class RefTrace {
public:
    explicit RefTrace(const Model& m) : m_(m), c_(m.config()) {
        S_.resize(std::size_t(c_.num_layers));
        K_.resize(S_.size());
        V_.resize(S_.size());
        for (int l = 0; l < int(c_.num_layers); ++l)
            if (c_.layer_kinds[std::size_t(l)] == LayerKind::Lightning)
                S_[std::size_t(l)].assign(std::size_t(c_.num_heads * c_.head_dim * c_.head_dim), 0.f);
    }

    // Runs T tokens; appends one RefLayer per layer to `layers`; returns the logits [T, V].
    std::vector<float> forward(const std::vector<int32_t>& ids, std::vector<RefLayer>& layers) {
        const int64_t T = int64_t(ids.size()), H = c_.hidden_size;
        const float eps = float(c_.rms_norm_eps);
        std::vector<float> x(std::size_t(T * H)), u(x.size());
        for (int64_t t = 0; t < T; ++t) m_.embed_row(ids[std::size_t(t)], x.data() + t * H);
        for (int l = 0; l < int(c_.num_layers); ++l) {
            const bool lin = c_.layer_kinds[std::size_t(l)] == LayerKind::Lightning;
            ref::rmsnorm(x.data(), w(TensorRole::InputNorm, l).data(), u.data(), T, H, eps);
            std::vector<float> a = lin ? lightning(l, u, T) : softmax(l, u, T);
            const float al = float(lin ? c_.alpha_linear : c_.alpha_full), be = float(lin ? c_.beta_linear : c_.beta_full);
            for (std::size_t i = 0; i < x.size(); ++i) x[i] = u[i] * al + a[i] * be;
            ref::rmsnorm(x.data(), w(TensorRole::PostAttnNorm, l).data(), u.data(), T, H, eps);
            RefLayer rl;
            a = moe(l, u, T, rl);
            for (std::size_t i = 0; i < x.size(); ++i) x[i] = u[i] * float(c_.alpha_mlp) + a[i] * float(c_.beta_mlp);
            rl.residual.resize(x.size());
            const auto next = l + 1 < int(c_.num_layers) ? w(TensorRole::InputNorm, l + 1) : w(TensorRole::FinalNorm);
            ref::rmsnorm(x.data(), next.data(), rl.residual.data(), T, H, eps);
            layers.push_back(std::move(rl));
        }
        pos_ += T;
        std::vector<float> lg(std::size_t(T * c_.vocab_size));
        ref::linear(layers.back().residual.data(), w(TensorRole::LmHead).data(), lg.data(), T, c_.vocab_size, H);
        return lg;
    }

private:
    std::vector<float> w(TensorRole r, int l = -1, int e = -1) const {
        const TensorInfo& t = m_.tensor(r, l, e);
        std::vector<float> v(std::size_t(t.numel()));
        to_f32(t.dtype, t.data, v.data(), v.size());
        return v;
    }
    std::vector<float> lin(const float* x, const std::vector<float>& W, int64_t T, int64_t N, int64_t K) const {
        std::vector<float> y(std::size_t(T * N));
        ref::linear(x, W.data(), y.data(), T, N, K);
        return y;
    }
    std::vector<float> lightning(int l, const std::vector<float>& u, int64_t T) {
        const int64_t H = c_.hidden_size, nh = c_.num_heads, dh = c_.head_dim, Wd = nh * dh;
        auto qkv = lin(u.data(), w(TensorRole::LinQkv, l), T, 3 * Wd, H);
        std::vector<float> q(std::size_t(T * Wd)), k(q.size()), v(q.size()), o(q.size());
        for (int64_t t = 0; t < T; ++t)
            for (int64_t h = 0; h < nh; ++h)
                for (int c = 0; c < 3; ++c)
                    for (int64_t d = 0; d < dh; ++d) {
                        const float z = qkv[std::size_t((t * nh + h) * 3 * dh + c * dh + d)];
                        (c == 0 ? q : c == 1 ? k : v)[std::size_t((t * nh + h) * dh + d)] = z / (1.f + std::exp(-z));
                    }
        const auto s = c_.lightning_slopes(l);
        ref::lightning_prefill(q.data(), k.data(), v.data(), S_[std::size_t(l)].data(), o.data(), T, nh, dh, s.data(),
                               c_.block_size);
        ref::rmsnorm(o.data(), w(TensorRole::LinNorm, l).data(), o.data(), T, Wd, 1e-6f);
        auto g = lin(u.data(), w(TensorRole::LinGate, l), T, Wd, H);
        for (std::size_t i = 0; i < o.size(); ++i) o[i] *= 1.f / (1.f + std::exp(-g[i]));
        return lin(o.data(), w(TensorRole::LinOut, l), T, H, Wd);
    }
    std::vector<float> softmax(int l, const std::vector<float>& u, int64_t T) {
        const int64_t H = c_.hidden_size, nh = c_.num_heads, nkv = c_.num_kv_heads, dh = c_.head_dim;
        auto q = lin(u.data(), w(TensorRole::AttnQ, l), T, nh * dh, H);
        auto kn = lin(u.data(), w(TensorRole::AttnK, l), T, nkv * dh, H);
        auto vn = lin(u.data(), w(TensorRole::AttnV, l), T, nkv * dh, H);
        ref::rope(q.data(), T, nh, dh, c_.rotary_dim, c_.rope_theta, pos_);
        ref::rope(kn.data(), T, nkv, dh, c_.rotary_dim, c_.rope_theta, pos_);
        auto& K = K_[std::size_t(l)];
        auto& V = V_[std::size_t(l)];
        K.insert(K.end(), kn.begin(), kn.end());
        V.insert(V.end(), vn.begin(), vn.end());
        std::vector<float> o(std::size_t(T * nh * dh));
        ref::softmax_attention(q.data(), K.data(), V.data(), o.data(), T, pos_, nh, nkv, dh);
        return lin(o.data(), w(TensorRole::AttnO, l), T, H, nh * dh);
    }
    std::vector<float> moe(int l, const std::vector<float>& u, int64_t T, RefLayer& rl) const {
        const int64_t H = c_.hidden_size, I = c_.intermediate_size, E = c_.num_experts, k = c_.top_k;
        rl.router_logits = lin(u.data(), w(TensorRole::Router, l), T, E, H);
        rl.experts.resize(std::size_t(T * k));
        std::vector<float> wt(std::size_t(T * k)), out(std::size_t(T * H), 0.f), y(std::size_t(H), 0.f);
        ref::router_topk(rl.router_logits.data(), T, E, k, rl.experts.data(), wt.data());
        for (int e = 0; e < int(E); ++e) {  // ascending expert id, like the engines
            const auto w1 = w(TensorRole::ExpertW1, l, e), w3 = w(TensorRole::ExpertW3, l, e), w2 = w(TensorRole::ExpertW2, l, e);
            for (int64_t t = 0; t < T; ++t)
                for (int64_t j = 0; j < k; ++j) {
                    if (rl.experts[std::size_t(t * k + j)] != e) continue;
                    ref::swiglu_expert(u.data() + t * H, 1, H, I, w1.data(), w3.data(), w2.data(), y.data());
                    for (int64_t h = 0; h < H; ++h) out[std::size_t(t * H + h)] += wt[std::size_t(t * k + j)] * y[std::size_t(h)];
                }
        }
        return out;
    }

    const Model& m_;
    const ModelConfig& c_;
    std::vector<std::vector<float>> S_, K_, V_;
    int64_t pos_ = 0;
};

}  // namespace m1::test
