// The CPU reference ops (fp32): RMSNorm, RoPE, lightning attention (blocked and per-token), GQA softmax
// attention, router, SwiGLU experts, MoE and the linear layer. Plain loops, parallel over heads/rows.
#include "m1/reference_ops.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "gemm.h"
#include "thread_pool.h"

namespace m1::ref {

void rmsnorm(const float* x, const float* w, float* y, int64_t rows, int64_t n, float eps) {
    parallel_for(rows, [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; ++r) {
            const float* xr = x + r * n;
            float* yr = y + r * n;
            double ss = 0;
            for (int64_t i = 0; i < n; ++i) ss += double(xr[i]) * double(xr[i]);
            float inv = float(1.0 / std::sqrt(ss / double(n) + double(eps)));
            for (int64_t i = 0; i < n; ++i) yr[i] = w[i] * (xr[i] * inv);
        }
    });
}

void rope(float* x, int64_t T, int64_t heads, int64_t head_dim, int64_t rotary_dim, double theta, int64_t pos0) {
    const int64_t half = rotary_dim / 2;
    std::vector<double> inv(static_cast<size_t>(half));
    for (int64_t j = 0; j < half; ++j) inv[size_t(j)] = std::pow(theta, -2.0 * double(j) / double(rotary_dim));
    parallel_for(T, [&](int64_t b, int64_t e) {
        std::vector<float> c(static_cast<size_t>(half)), s(static_cast<size_t>(half));
        for (int64_t t = b; t < e; ++t) {
            double pos = double(pos0 + t);
            for (int64_t j = 0; j < half; ++j) {
                double a = pos * inv[size_t(j)];
                c[size_t(j)] = float(std::cos(a));
                s[size_t(j)] = float(std::sin(a));
            }
            for (int64_t h = 0; h < heads; ++h) {
                float* v = x + (t * heads + h) * head_dim;
                for (int64_t j = 0; j < half; ++j) {
                    float x1 = v[j], x2 = v[j + half];
                    v[j] = x1 * c[size_t(j)] - x2 * s[size_t(j)];
                    v[j + half] = x2 * c[size_t(j)] + x1 * s[size_t(j)];
                }
            }
        }
    });
}

void lightning_slopes(int64_t nh, int64_t layer, int64_t num_layers, double* s) {
    double factor = num_layers > 1 ? 1.0 - double(layer) / double(num_layers - 1) + 1e-5 : 1.0 + 1e-5;
    for (int64_t h = 0; h < nh; ++h) s[h] = std::exp2(-8.0 * double(h + 1) / double(nh)) * factor;
}

void lightning_decode(const float* q, const float* k, const float* v, float* state, float* o, int64_t T,
                      int64_t nh, int64_t dh, const double* slopes) {
    parallel_for(nh, [&](int64_t hb, int64_t he) {
        for (int64_t h = hb; h < he; ++h) {
            float* S = state + h * dh * dh;
            const float lam = float(std::exp(-slopes[h]));
            for (int64_t t = 0; t < T; ++t) {
                const float* qt = q + (t * nh + h) * dh;
                const float* kt = k + (t * nh + h) * dh;
                const float* vt = v + (t * nh + h) * dh;
                float* ot = o + (t * nh + h) * dh;
                std::fill(ot, ot + dh, 0.f);
                for (int64_t d = 0; d < dh; ++d) {
                    float* Sd = S + d * dh;
                    const float kd = kt[d], qd = qt[d];
                    for (int64_t e = 0; e < dh; ++e) {
                        Sd[e] = lam * Sd[e] + kd * vt[e];
                        ot[e] += qd * Sd[e];
                    }
                }
            }
        }
    });
}

void lightning_prefill(const float* q, const float* k, const float* v, float* state, float* o, int64_t T,
                       int64_t nh, int64_t dh, const double* slopes, int64_t block_size) {
    const int64_t B = std::max<int64_t>(1, block_size);
    parallel_for(nh, [&](int64_t hb, int64_t he) {
        std::vector<float> scores(size_t(B * B)), pw(size_t(B + 1));
        for (int64_t h = hb; h < he; ++h) {
            float* S = state + h * dh * dh;
            const double s = slopes[h];
            for (int64_t t0 = 0; t0 < T; t0 += B) {
                const int64_t m = std::min(B, T - t0);
                for (int64_t i = 0; i <= m; ++i) pw[size_t(i)] = float(std::exp(-s * double(i)));  // lambda^i
                auto Q = [&](int64_t i) { return q + ((t0 + i) * nh + h) * dh; };
                auto K = [&](int64_t i) { return k + ((t0 + i) * nh + h) * dh; };
                auto V = [&](int64_t i) { return v + ((t0 + i) * nh + h) * dh; };
                // Intra-block scores: (q_i . k_j) lambda^(i-j), j <= i.
                for (int64_t i = 0; i < m; ++i)
                    for (int64_t j = 0; j <= i; ++j) {
                        const float* qi = Q(i);
                        const float* kj = K(j);
                        float d = 0;
                        for (int64_t c = 0; c < dh; ++c) d += qi[c] * kj[c];
                        scores[size_t(i * B + j)] = d * pw[size_t(i - j)];
                    }
                for (int64_t i = 0; i < m; ++i) {
                    float* oi = o + ((t0 + i) * nh + h) * dh;
                    // Inter-block: lambda^(i+1) q_i S (S is the state before this block).
                    std::fill(oi, oi + dh, 0.f);
                    const float* qi = Q(i);
                    for (int64_t d = 0; d < dh; ++d) {
                        const float a = qi[d] * pw[size_t(i + 1)];
                        const float* Sd = S + d * dh;
                        for (int64_t e = 0; e < dh; ++e) oi[e] += a * Sd[e];
                    }
                    for (int64_t j = 0; j <= i; ++j) {
                        const float a = scores[size_t(i * B + j)];
                        const float* vj = V(j);
                        for (int64_t e = 0; e < dh; ++e) oi[e] += a * vj[e];
                    }
                }
                // State: S = lambda^m S + sum_j lambda^(m-1-j) k_j^T v_j.
                const float decay = pw[size_t(m)];
                for (int64_t d = 0; d < dh; ++d) {
                    float* Sd = S + d * dh;
                    for (int64_t e = 0; e < dh; ++e) Sd[e] *= decay;
                    for (int64_t j = 0; j < m; ++j) {
                        const float a = K(j)[d] * pw[size_t(m - 1 - j)];
                        const float* vj = V(j);
                        for (int64_t e = 0; e < dh; ++e) Sd[e] += a * vj[e];
                    }
                }
            }
        }
    });
}

void softmax_attention(const float* q, const float* k, const float* v, float* out, int64_t T, int64_t past,
                       int64_t nh, int64_t nkv, int64_t dh) {
    const int64_t group = nh / nkv, ctx = past + T;
    const float scale = float(1.0 / std::sqrt(double(dh)));
    constexpr int64_t kTile = 64;  // query rows per score tile
    std::vector<float> sc(size_t(kTile * ctx));
    for (int64_t h = 0; h < nh; ++h) {
        const int64_t g = h / group;
        for (int64_t t0 = 0; t0 < T; t0 += kTile) {
            const int64_t m = std::min(kTile, T - t0), n = past + t0 + m;  // keys any row of the tile sees
            // scores[m, n] = Q_tile K^T (strided views into [T, nh, dh] and [ctx, nkv, dh])
            gemm_nt(q + (t0 * nh + h) * dh, nh * dh, k + g * dh, nkv * dh, sc.data(), n, m, n, dh, scale, 0.f);
            parallel_for(m, [&](int64_t rb, int64_t re) {
                for (int64_t i = rb; i < re; ++i) {
                    float* r = sc.data() + i * n;
                    const int64_t len = past + t0 + i + 1;  // causal
                    float mx = -INFINITY;
                    for (int64_t j = 0; j < len; ++j) mx = std::max(mx, r[j]);
                    double sum = 0;
                    for (int64_t j = 0; j < len; ++j) {
                        r[j] = std::exp(r[j] - mx);
                        sum += r[j];
                    }
                    const float inv = float(1.0 / sum);
                    for (int64_t j = 0; j < len; ++j) r[j] *= inv;
                    std::fill(r + len, r + n, 0.f);
                }
            });
            // out_tile[m, dh] = P[m, n] V[n, dh]
            gemm_nn(sc.data(), n, v + g * dh, nkv * dh, out + (t0 * nh + h) * dh, nh * dh, m, dh, n);
        }
    }
}

void router_topk(const float* logits, int64_t T, int64_t E, int64_t top_k, int32_t* ids, float* weights) {
    std::vector<double> p(static_cast<size_t>(E));
    std::vector<int32_t> order(static_cast<size_t>(E));
    for (int64_t t = 0; t < T; ++t) {
        const float* l = logits + t * E;
        float mx = *std::max_element(l, l + E);
        double sum = 0;
        for (int64_t e = 0; e < E; ++e) sum += p[size_t(e)] = std::exp(double(float(l[e] - mx)));
        for (int64_t e = 0; e < E; ++e) p[size_t(e)] = float(p[size_t(e)] / sum);  // fp32 softmax
        std::iota(order.begin(), order.end(), 0);
        std::partial_sort(order.begin(), order.begin() + top_k, order.end(), [&](int32_t a, int32_t b) {
            return p[size_t(a)] > p[size_t(b)] || (p[size_t(a)] == p[size_t(b)] && a < b);
        });
        double top = 0;
        for (int64_t j = 0; j < top_k; ++j) top += p[size_t(order[size_t(j)])];
        for (int64_t j = 0; j < top_k; ++j) {
            ids[t * top_k + j] = order[size_t(j)];
            weights[t * top_k + j] = float(p[size_t(order[size_t(j)])] / top);
        }
    }
}

void swiglu_expert(const float* x, int64_t T, int64_t H, int64_t I, const float* w1, const float* w3,
                   const float* w2, float* y) {
    std::vector<float> a(size_t(T * I)), b(size_t(T * I));
    linear(x, w1, a.data(), T, I, H);
    linear(x, w3, b.data(), T, I, H);
    for (size_t i = 0; i < a.size(); ++i) a[i] = a[i] / (1.f + std::exp(-a[i])) * b[i];
    linear(a.data(), w2, y, T, H, I);
}

void moe(const float* x, int64_t T, int64_t H, int64_t I, int64_t E, int64_t top_k, const float* gate,
         const float* const* w1, const float* const* w3, const float* const* w2, float* out) {
    std::vector<float> logits(size_t(T * E)), wts(size_t(T * top_k));
    std::vector<int32_t> ids(size_t(T * top_k));
    linear(x, gate, logits.data(), T, E, H);
    router_topk(logits.data(), T, E, top_k, ids.data(), wts.data());
    std::fill(out, out + T * H, 0.f);
    std::vector<float> xs, ys;
    for (int64_t e = 0; e < E; ++e) {  // ascending expert id: the order the sums are taken in
        std::vector<std::pair<int64_t, float>> rows;
        for (int64_t t = 0; t < T; ++t)
            for (int64_t j = 0; j < top_k; ++j)
                if (ids[size_t(t * top_k + j)] == e) rows.push_back({t, wts[size_t(t * top_k + j)]});
        if (rows.empty()) continue;
        const int64_t n = int64_t(rows.size());
        xs.resize(size_t(n * H));
        ys.resize(size_t(n * H));
        for (int64_t r = 0; r < n; ++r) std::copy_n(x + rows[size_t(r)].first * H, H, xs.data() + r * H);
        swiglu_expert(xs.data(), n, H, I, w1[e], w3[e], w2[e], ys.data());
        for (int64_t r = 0; r < n; ++r) {
            float* o = out + rows[size_t(r)].first * H;
            const float w = rows[size_t(r)].second;
            const float* yr = ys.data() + r * H;
            for (int64_t c = 0; c < H; ++c) o[c] += w * yr[c];
        }
    }
}

void linear(const float* x, const float* w, float* y, int64_t M, int64_t N, int64_t K) {
    gemm_nt(x, K, w, K, y, N, M, N, K, 1.f, 0.f);
}

}  // namespace m1::ref
