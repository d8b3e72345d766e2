// The M1 forward pass on one GPU, top to bottom: embedding, per layer (lightning or softmax attention, then
// MoE) with the post-norm residual fused into the next norm, final norm, LM head (bf16 weights, fp32
// arithmetic). Decode steps (one token; softmax layers through the split-K decode kernel) are captured into a
// CUDA graph and replayed; the graph is updated in place as positions move, and the next position's is
// captured while the GPU runs the current one, so that capturing stays off the critical path.
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "cuda/cuda_session.h"
#include "cuda/cuda_state_io.h"
#include "kernels/act_silu.cuh"
#include "kernels/attention_decode.cuh"
#include "kernels/attention_prefill.cuh"
#include "kernels/cuda_check.cuh"
#include "kernels/dev/attention_ref.cuh"
#include "kernels/embed_gather.cuh"
#include "kernels/lightning_decode.cuh"
#include "kernels/lightning_prefill.cuh"
#include "kernels/lm_head.cuh"
#include "kernels/norm_rms.cuh"
#include "kernels/rope_partial.cuh"
#include "kernels/sampling.cuh"
#include "m1/state_format.h"

namespace m1 {

using bf16 = __nv_bfloat16;

void DevBuf::ensure(std::size_t bytes) {
    if (bytes <= n && p) return;
    release();
    M1_CUDA_CHECK(cudaMalloc(&p, std::max<std::size_t>(bytes, 256)));
    n = bytes;
}

namespace {

constexpr float kLightningNormEps = 1e-6f;
constexpr int kLogitRows = 256;  // LM-head rows computed per step when every position's logits are wanted
constexpr int kMinRetryChunk = 256;  // the smallest prefill step tried after an out-of-memory one

struct LayerCache {
    DevBuf k, v;  // softmax: [cap, nkv, dh] bf16 each
};

class CudaSession : public Session {
public:
    explicit CudaSession(std::shared_ptr<CudaModel> m);
    ~CudaSession() override;
    const ModelConfig& config() const override { return m_->cfg; }
    const std::string& fingerprint() const override { return m_->fingerprint; }
    std::string device() const override { return "cuda:" + std::to_string(m_->device); }
    int64_t position() const override { return pos_; }
    std::span<const float> logits() const override;
    TokenPick pick_next(const SamplingOptions& opts, uint64_t step) override;
    void reset() override;
    void forward(std::span<const int32_t> ids, float* all_logits) override;
    void export_state(ByteSink& sink) const override;
    void import_state(ByteSource& source) override;

private:
    void ensure_workspace(int T);
    void ensure_cache(int64_t tokens);
    void run_chunk(const int32_t* ids, int T, float* all_logits);
    // Everything after the ids are on the device, before the LM head, for T tokens from position pos; slot: a
    // pinned pair whose second entry carries the decode key count to the device.
    void enqueue_layers(int T, int64_t pos, int32_t* slot);
    void enqueue_head_last(int T);
    void lightning(const CudaLayer& ly, int l, int T);
    void project_out(const bf16* in, const bf16* w_o, int T, int Wd);  // a = in w_o^T, summed over the GPUs
    void softmax_attn(const CudaLayer& ly, int l, int T, int64_t pos);
    void decode_graph(int32_t id);
    void logits_now_on_device(const float* row);  // after a forward: the host copy waits until asked for
    void enqueue_pick(const float* row, const SamplingOptions& o, uint64_t step);
    void capture_decode(cudaGraphExec_t& exec, int64_t pos, int32_t* slot);
    uint64_t buffer_signature() const;  // changes whenever a buffer a decode graph captured may have moved
    int32_t* slot(int i) const { return host_id_ + 2 * i; }
    void drop_graphs();
    void trace_layer(int l, int T);
    int decode_max_len(int64_t pos) const;  // the split-K decode's key bound for the token at pos
    friend void m1::set_cuda_trace(Session& s, CudaTraceFn fn);
    friend CudaDecodeStats m1::cuda_decode_stats(const Session& s);
    friend void m1::set_cuda_decode_prepare(Session& s, bool on);

    std::shared_ptr<CudaModel> m_;
    const ModelConfig& c_;
    cudaStream_t st_ = nullptr;
    std::unique_ptr<kern::Blas> blas_;
    Workspace ws_;
    std::vector<LayerCache> cache_;  // per layer (empty for lightning layers)
    DevBuf states_;                  // [n_lightning, nh, dh, dh] fp32
    std::vector<int> state_index_;   // layer -> index into states_ (-1 for softmax layers)
    int64_t cap_ = 0, pos_ = 0;
    int32_t* host_counts_ = nullptr; // pinned [E]
    int32_t* host_id_ = nullptr;     // pinned [2][2]: per decode graph, its token id, then its key count (position + 1)
    float* host_logits_ = nullptr;   // pinned [V]
    // The logits after the last consumed token: on the device at dev_logits_ (nullptr after an import, whose
    // logits exist only on the host); copied to last_logits_ when logits() is first called. TP ranks copy at
    // once (their sessions' callers run on several threads).
    mutable std::vector<float> last_logits_;
    mutable bool host_logits_ok_ = true;
    const float* dev_logits_ = nullptr;
    bool lazy_logits_ = true;
    // Token picks on the device (kernels/sampling.cuh): scratch, then the choice; host_pick_ is pinned. Once
    // pick_next was called, every decode graph picks with pick_opts_ for step pos + 1 + pick_origin_ (what the
    // next pick_next will ask when the caller counts steps with positions), and pick_ready_ says its result is
    // in host_pick_ for step pos_ + pick_origin_.
    DevBuf pick_dev_;
    kern::TokenChoice* host_pick_ = nullptr;
    SamplingOptions pick_opts_;
    bool pick_armed_ = false, pick_ready_ = false;
    int64_t pick_origin_ = 0;
    cudaGraphExec_t graph_ = nullptr;       // the decode step, captured with slot(cur_slot_)
    cudaGraphExec_t graph_next_ = nullptr;  // captured for next_pos_ (with the other slot) while graph_ ran
    int cur_slot_ = 0;
    int64_t next_pos_ = -1;
    uint64_t next_sig_ = 0;
    bool prepare_ = true;
    cudaEvent_t step_ev_[2] = {nullptr, nullptr};  // around the decode graph's launch
    CudaDecodeStats stats_;
    int sm_count_ = 132;
    DevBuf dec_;                     // split-K decode: [0, 256) the key count (int32), then the partials
    CudaTraceFn trace_;
};

CudaSession::CudaSession(std::shared_ptr<CudaModel> m) : m_(std::move(m)), c_(m_->cfg) {
    M1_CUDA_CHECK(cudaSetDevice(m_->device));
    M1_CUDA_CHECK(cudaStreamCreateWithFlags(&st_, cudaStreamNonBlocking));
    blas_ = std::make_unique<kern::Blas>(st_);
    // The MoE's side lanes now rather than in the middle of a chunk, where an allocation failure would leave
    // the earlier layers' states advanced.
    if (!m_->layers.empty() && !m_->layers[0].experts.is_int8()) blas_->lane(0);
    M1_CUDA_CHECK(cudaDeviceGetAttribute(&sm_count_, cudaDevAttrMultiProcessorCount, m_->device));
    M1_CUDA_CHECK(cudaMallocHost(&host_counts_, sizeof(int32_t) * std::max<int64_t>(c_.num_experts, 1)));
    M1_CUDA_CHECK(cudaMallocHost(&host_id_, 4 * sizeof(int32_t)));
    for (auto& e : step_ev_) M1_CUDA_CHECK(cudaEventCreate(&e));
    prepare_ = !m_->tp;  // capturing during a step is checked on one GPU; ranks' steps meet in collectives
    M1_CUDA_CHECK(cudaMallocHost(&host_logits_, sizeof(float) * c_.vocab_size));
    lazy_logits_ = !m_->tp;
    M1_CUDA_CHECK(cudaMallocHost(&host_pick_, sizeof(kern::TokenChoice)));
    pick_dev_.ensure(256 + kern::pick_scratch_bytes());  // [0, 256): the choice; then the scratch
    M1_CUDA_CHECK(cudaMemset(pick_dev_.p, 0, pick_dev_.n));
    cache_.resize(std::size_t(c_.num_layers));
    int n_lin = 0;
    for (auto k : c_.layer_kinds) state_index_.push_back(k == LayerKind::Lightning ? n_lin++ : -1);
    states_.ensure(std::size_t(n_lin) * c_.num_heads * c_.head_dim * c_.head_dim * 4);
    const int64_t planned = m_->opts.context_tokens > 0 ? m_->opts.context_tokens
                                                        : std::min<int64_t>(c_.max_position_embeddings, 32768);
    ensure_cache(std::min<int64_t>(planned, 4096));  // grows on demand up to the plan and beyond
    reset();
}

CudaSession::~CudaSession() {
    cudaSetDevice(m_->device);
    drop_graphs();
    for (auto e : step_ev_)
        if (e) cudaEventDestroy(e);
    blas_.reset();
    cudaFreeHost(host_counts_);
    cudaFreeHost(host_id_);
    cudaFreeHost(host_logits_);
    cudaFreeHost(host_pick_);
    cudaStreamDestroy(st_);
}

void CudaSession::reset() {
    M1_CUDA_CHECK(cudaSetDevice(m_->device));
    pos_ = 0;
    last_logits_.clear();
    host_logits_ok_ = true;
    dev_logits_ = nullptr;
    pick_ready_ = false;
    M1_CUDA_CHECK(cudaMemsetAsync(states_.p, 0, states_.n, st_));
    M1_CUDA_CHECK(cudaStreamSynchronize(st_));
}

void CudaSession::ensure_workspace(int T) {
    if (T <= ws_.Tc) return;
    const std::size_t H = c_.hidden_size, Wd = c_.lightning_width(), kvw = c_.kv_width();
    const std::size_t big = std::max(3 * Wd, Wd + 2 * kvw);
    Workspace& w = ws_;
    w.Tc = 0;  // stays 0 if an allocation below throws
    w.x.ensure(T * H * 4);
    w.xb.ensure(T * H * 2);
    w.a.ensure(T * H * 4);
    w.big.ensure(T * big * 4);
    w.g.ensure(T * Wd * 4);
    w.qkvb.ensure(T * 3 * Wd * 2);
    w.ob.ensure(T * Wd * 2);
    w.gb.ensure(T * Wd * 2);
    w.ids.ensure(T * 4);
    w.logits.ensure(std::size_t(kLogitRows) * c_.vocab_size * 4);
    const kern::ExpertWeights& ex = m_->layers[0].experts;
    w.moe.ensure(kern::moe_scratch_bytes(T, int(c_.top_k), ex));
    w.moe_s = kern::moe_carve(w.moe.p, T, int(c_.top_k), ex);
    w.Tc = T;
}

void CudaSession::ensure_cache(int64_t tokens) {
    if (tokens <= cap_) return;
    const int64_t cap = std::max<int64_t>(tokens, cap_ * 2);
    const std::size_t row = std::size_t(c_.kv_width()) * 2;
    for (int l = 0; l < int(c_.num_layers); ++l) {
        if (c_.layer_kinds[std::size_t(l)] != LayerKind::Softmax) continue;
        LayerCache& lc = cache_[std::size_t(l)];
        DevBuf nk, nv;
        nk.ensure(cap * row);
        nv.ensure(cap * row);
        if (pos_ > 0) {
            M1_CUDA_CHECK(cudaMemcpyAsync(nk.p, lc.k.p, pos_ * row, cudaMemcpyDeviceToDevice, st_));
            M1_CUDA_CHECK(cudaMemcpyAsync(nv.p, lc.v.p, pos_ * row, cudaMemcpyDeviceToDevice, st_));
            M1_CUDA_CHECK(cudaStreamSynchronize(st_));
        }
        std::swap(lc.k.p, nk.p);
        std::swap(lc.k.n, nk.n);
        std::swap(lc.v.p, nv.p);
        std::swap(lc.v.n, nv.n);
    }
    cap_ = cap;
    if (c_.head_dim == 128 && c_.num_softmax_layers() > 0) {
        const int splits = cuda::attention_decode_default_splits(1, int(c_.num_kv_heads), int(std::min<int64_t>(cap_, INT32_MAX)), sm_count_);
        dec_.ensure(256 + cuda::attention_decode_workspace_bytes(1, int(c_.num_heads), splits));
    }
    drop_graphs();  // captured pointers changed
}

void CudaSession::drop_graphs() {
    for (cudaGraphExec_t* g : {&graph_, &graph_next_})
        if (*g) {
            cudaGraphExecDestroy(*g);
            *g = nullptr;
        }
    next_pos_ = -1;
}

void CudaSession::lightning(const CudaLayer& ly, int l, int T) {
    const int nh = int(c_.num_heads), dh = int(c_.head_dim), H = int(c_.hidden_size), Wd = nh * dh;
    Workspace& w = ws_;
    // qkv: (T, nh, 3, dh) through SiLU -> bf16; gate logits (T, Wd) fp32.
    kern::gemm_bf16(*blas_, T, 3 * Wd, H, w.xb.as<bf16>(), H, ly.lin_qkv, H, w.big.p, kern::OutType::F32, 3 * Wd);
    kern::silu_to_bf16(w.big.as<float>(), std::size_t(T) * 3 * Wd, w.qkvb.as<bf16>(), st_);
    float* S = states_.as<float>() + std::size_t(state_index_[std::size_t(l)]) * nh * dh * dh;
    const bf16* q = w.qkvb.as<bf16>();
    if (dh == 128 && T == 1) {
        cuda::LightningDecodeParams p;
        p.q = q; p.k = q + dh; p.v = q + 2 * dh;
        p.qkv_batch_stride = 3 * Wd; p.qkv_head_stride = 3 * dh;
        p.state = S; p.state_batch_stride = std::int64_t(nh) * dh * dh;
        p.out = w.ob.as<bf16>(); p.out_batch_stride = Wd;
        p.slopes = ly.slopes; p.batch = 1; p.heads = nh;
        cuda::lightning_decode(p, st_);
    } else {
        cuda::LightningPrefillParams p;
        p.q = q; p.k = q + dh; p.v = q + 2 * dh;
        p.tok_stride = 3 * Wd; p.head_stride = 3 * dh;
        p.out = w.ob.as<bf16>(); p.out_tok_stride = Wd;
        p.slopes = ly.slopes; p.state_in = S; p.state_out = S;
        p.tokens = T; p.heads = nh;
        if (dh == 128) {
            p.chunk = cuda::lightning_prefill_default_chunk(T, nh, sm_count_);
            const std::size_t need = cuda::lightning_prefill_workspace_bytes(T, nh, p.chunk);
            w.lin_ws.ensure(need);
            cuda::lightning_prefill(p, w.lin_ws.p, w.lin_ws.n, st_);
        } else {
            cuda::dev::lightning_recurrent(p, dh, st_);
        }
    }
    kern::gemm_bf16(*blas_, T, Wd, H, w.xb.as<bf16>(), H, ly.lin_gate, H, w.g.p, kern::OutType::F32, Wd);
    if (m_->tp)  // multi-GPU: the norm spans every rank's heads
        m_->tp->rmsnorm_gate(w.ob.p, w.g.as<float>(), Wd, ly.lin_norm, kLightningNormEps, T, Wd, w.gb.p, st_);
    else
        kern::rmsnorm_gate(w.ob.as<bf16>(), w.g.as<float>(), Wd, ly.lin_norm, kLightningNormEps, T, Wd, w.gb.as<bf16>(), st_);
    project_out(w.gb.as<bf16>(), ly.lin_out, T, Wd);
}

// The attention output projection into ws_.a; under TP the link sums the ranks' partials and may overlap that
// with the projection of the next block of rows.
void CudaSession::project_out(const bf16* in, const bf16* w_o, int T, int Wd) {
    const int H = int(c_.hidden_size);
    auto rows = [&](int r0, int n) {
        kern::gemm_bf16(*blas_, n, H, Wd, in + std::size_t(r0) * Wd, Wd, w_o, Wd, ws_.a.as<float>() + std::size_t(r0) * H,
                        kern::OutType::F32, H);
    };
    if (m_->tp) m_->tp->compute_reduce(TpLink::Site::attention_out, T, H, ws_.a.as<float>(), st_, rows); else rows(0, T);
}

void CudaSession::softmax_attn(const CudaLayer& ly, int l, int T, int64_t pos) {
    const int nh = int(c_.num_heads), nkv = int(c_.num_kv_heads), dh = int(c_.head_dim), H = int(c_.hidden_size);
    const int Wd = nh * dh, N = Wd + 2 * nkv * dh;
    Workspace& w = ws_;
    LayerCache& lc = cache_[std::size_t(l)];
    kern::gemm_bf16(*blas_, T, N, H, w.xb.as<bf16>(), H, ly.attn_qkv, H, w.big.p, kern::OutType::F32, N);
    kern::RopeArgs r{w.big.as<float>(), N, T, nh, nkv, dh, int(c_.rotary_dim), float(c_.rope_theta), int(pos),
                     w.qkvb.as<bf16>(), lc.k.as<bf16>(), lc.v.as<bf16>(), int(cap_)};
    kern::rope_qk_cache(r, st_);
    cuda::AttentionPrefillParams p;
    p.q = w.qkvb.as<bf16>(); p.q_tok_stride = Wd; p.q_head_stride = dh;
    p.k = lc.k.as<bf16>(); p.v = lc.v.as<bf16>(); p.kv_tok_stride = nkv * dh; p.kv_head_stride = dh;
    p.out = w.ob.as<bf16>(); p.out_tok_stride = Wd;
    p.q_tokens = T; p.q_start = int(pos); p.heads = nh; p.kv_heads = nkv;
    p.scale = float(1.0 / std::sqrt(double(dh)));
    if (dh == 128 && T == 1) {  // one query: split-K over the cache so that every SM streams keys
        cuda::AttentionDecodeParams d;
        d.q = p.q; d.q_head_stride = dh; d.q_batch_stride = Wd;
        d.k = p.k; d.v = p.v; d.kv_tok_stride = p.kv_tok_stride; d.kv_head_stride = dh; d.kv_batch_stride = 0;
        d.seq_lens = dec_.as<int>();
        d.out = p.out; d.out_batch_stride = Wd;
        d.batch = 1; d.heads = nh; d.kv_heads = nkv; d.scale = p.scale;
        d.max_len = decode_max_len(pos);
        d.splits = cuda::attention_decode_default_splits(1, nkv, d.max_len, sm_count_);
        cuda::attention_decode(d, dec_.as<char>() + 256, dec_.n - 256, st_);
    } else if (dh == 128) {
        cuda::attention_prefill(p, st_);
    }
    else {
        cuda::dev::attention_naive(p, dh, st_);
    }
    project_out(w.ob.as<bf16>(), ly.attn_o, T, Wd);
}

void CudaSession::enqueue_layers(int T, int64_t pos, int32_t* slot) {
    const int H = int(c_.hidden_size), L = int(c_.num_layers);
    const float eps = float(c_.rms_norm_eps);
    Workspace& w = ws_;
    if (T == 1 && dec_.p) {  // the split-K decode reads the key count from the device
        slot[1] = int32_t(pos + 1);
        M1_CUDA_CHECK(cudaMemcpyAsync(dec_.p, slot + 1, 4, cudaMemcpyHostToDevice, st_));
    }
    kern::embed_gather(w.ids.as<int32_t>(), T, m_->embed, H, w.x.as<float>(), st_);
    // u = norm_in(x): x (T, H) becomes the normalised residual in place.
    kern::rmsnorm(w.x.as<float>(), m_->layers[0].in_norm, eps, T, H, w.x.as<float>(), w.xb.as<bf16>(), st_);
    for (int l = 0; l < L; ++l) {
        const CudaLayer& ly = m_->layers[std::size_t(l)];
        const bool lin = c_.layer_kinds[std::size_t(l)] == LayerKind::Lightning;
        if (lin) lightning(ly, l, T); else softmax_attn(ly, l, T, pos);
        // x1 = u*alpha + a*beta; u2 = norm_post(x1)
        kern::add_rmsnorm(w.x.as<float>(), w.a.as<float>(), float(lin ? c_.alpha_linear : c_.alpha_full),
                          float(lin ? c_.beta_linear : c_.beta_full), ly.post_norm, eps, T, H, w.xb.as<bf16>(), st_);
        // The MoE of rows [r0, r0 + n); under TP the link sums the ranks' outputs (perhaps overlapped, row block by block).
        auto moe = [&](int r0, int n) {
            const std::size_t o = std::size_t(r0) * H;
            kern::moe_forward(*blas_, ly.router, ly.experts, w.x.as<float>() + o, w.xb.as<bf16>() + o, n, int(c_.top_k),
                              w.moe_s, host_counts_, w.a.as<float>() + o);
        };
        if (m_->tp) m_->tp->compute_reduce(TpLink::Site::moe, T, H, w.a.as<float>(), st_, moe); else moe(0, T);
        // out = u2*alpha + m*beta, then the next layer's input norm (or the final norm after the last layer).
        const bf16* next = l + 1 < L ? m_->layers[std::size_t(l) + 1].in_norm : m_->final_norm;
        kern::add_rmsnorm(w.x.as<float>(), w.a.as<float>(), float(c_.alpha_mlp), float(c_.beta_mlp), next, eps, T, H,
                          w.xb.as<bf16>(), st_);
        if (trace_) trace_layer(l, T);
    }
}

int CudaSession::decode_max_len(int64_t pos) const {
    // Rounded up so that the split count (a launch dimension) changes rarely and the decode graph is
    // updated in place; never past the cache.
    const int64_t len = pos + 1, step = 4096;
    return int(std::min<int64_t>(cap_, (len + step - 1) / step * step));
}

void CudaSession::trace_layer(int l, int T) {
    const std::size_t H = c_.hidden_size, E = c_.num_experts, k = c_.top_k;
    std::vector<float> x(T * H), lg(T * E);
    std::vector<int32_t> ids(T * k);
    M1_CUDA_CHECK(cudaMemcpyAsync(x.data(), ws_.x.p, x.size() * 4, cudaMemcpyDeviceToHost, st_));
    M1_CUDA_CHECK(cudaMemcpyAsync(lg.data(), ws_.moe_s.logits, lg.size() * 4, cudaMemcpyDeviceToHost, st_));
    M1_CUDA_CHECK(cudaMemcpyAsync(ids.data(), ws_.moe_s.topk_ids, ids.size() * 4, cudaMemcpyDeviceToHost, st_));
    M1_CUDA_CHECK(cudaStreamSynchronize(st_));
    trace_(CudaLayerTrace{l, pos_, T, x, lg, ids});
}

void CudaSession::enqueue_head_last(int T) {
    const int H = int(c_.hidden_size), V = int(c_.vocab_size);
    const float* x = ws_.x.as<float>() + std::size_t(T - 1) * H;
    if (m_->tp)  // multi-GPU: each rank's vocabulary rows, gathered
        m_->tp->lm_head(*blas_, x, 1, ws_.logits.as<float>(), st_);
    else  // one row: the matrix-vector kernel over the bf16 weights, fp32 arithmetic
        kern::lm_head(*blas_, x, H, 1, m_->lm_head, ws_.logits.as<float>(), V, nullptr);
    if (!lazy_logits_)
        M1_CUDA_CHECK(cudaMemcpyAsync(host_logits_, ws_.logits.p, std::size_t(V) * 4, cudaMemcpyDeviceToHost, st_));
}

void CudaSession::logits_now_on_device(const float* row) {
    dev_logits_ = row;
    pick_ready_ = false;
    if (lazy_logits_) {
        host_logits_ok_ = false;
    } else {
        last_logits_.assign(host_logits_, host_logits_ + c_.vocab_size);
        host_logits_ok_ = true;
    }
}

std::span<const float> CudaSession::logits() const {
    if (!host_logits_ok_) {
        M1_CUDA_CHECK(cudaSetDevice(m_->device));
        M1_CUDA_CHECK(cudaMemcpyAsync(host_logits_, dev_logits_, std::size_t(c_.vocab_size) * 4, cudaMemcpyDeviceToHost, st_));
        M1_CUDA_CHECK(cudaStreamSynchronize(st_));
        last_logits_.assign(host_logits_, host_logits_ + c_.vocab_size);
        host_logits_ok_ = true;
    }
    return {last_logits_.data(), last_logits_.size()};
}

// The pick of one row of device logits into the pinned host_pick_ (stream order; captured into decode graphs).
void CudaSession::enqueue_pick(const float* row, const SamplingOptions& o, uint64_t step) {
    kern::SampleParams p;
    p.temperature = float(o.temperature);
    p.top_k = int(std::clamp<int64_t>(o.top_k, 0, INT_MAX));
    p.top_p = float(o.top_p);
    p.seed = o.seed;
    p.greedy = o.greedy;
    auto* choice = pick_dev_.as<kern::TokenChoice>();
    kern::pick_token(row, int(c_.vocab_size), p, step, pick_dev_.as<uint8_t>() + 256, choice, st_);
    M1_CUDA_CHECK(cudaMemcpyAsync(host_pick_, choice, sizeof(kern::TokenChoice), cudaMemcpyDeviceToHost, st_));
}

bool same_sampling(const SamplingOptions& a, const SamplingOptions& b) {
    return a.temperature == b.temperature && a.top_p == b.top_p && a.top_k == b.top_k && a.seed == b.seed &&
           a.greedy == b.greedy;
}

TokenPick CudaSession::pick_next(const SamplingOptions& o, uint64_t step) {
    if (!lazy_logits_ || !dev_logits_) return Session::pick_next(o, step);  // TP ranks; logits from an import
    const int64_t origin = int64_t(step) - pos_;
    if (pick_ready_ && pick_armed_ && same_sampling(o, pick_opts_) && origin == pick_origin_) {
        pick_ready_ = false;  // picked inside the decode graph
        return {host_pick_->id, double(host_pick_->prob)};
    }
    try {
        M1_CUDA_CHECK(cudaSetDevice(m_->device));
        enqueue_pick(dev_logits_, o, step);
        M1_CUDA_CHECK(cudaStreamSynchronize(st_));
    } catch (const cuda::CudaError& e) {
        throw DeviceError(std::string("GPU error on cuda:") + std::to_string(m_->device) + ": " + e.what(), false,
                          cudaGetLastError() != cudaSuccess || cudaDeviceSynchronize() != cudaSuccess);
    }
    if (!pick_armed_ || !same_sampling(o, pick_opts_) || origin != pick_origin_) {
        pick_opts_ = o;
        pick_origin_ = origin;
        pick_armed_ = true;
        next_pos_ = -1;  // a prepared graph picks with the old settings (or none): capture anew
    }
    pick_ready_ = false;
    return {host_pick_->id, double(host_pick_->prob)};
}

void CudaSession::run_chunk(const int32_t* ids, int T, float* all_logits) {
    const int H = int(c_.hidden_size), V = int(c_.vocab_size);
    ensure_workspace(T);
    ensure_cache(pos_ + T);
    if (all_logits && !m_->tp) {  // before any kernel runs, so that a failure leaves the state untouched
        const std::size_t tile = kern::lm_head_scratch_bytes(m_->lm_head, std::min(kLogitRows, T));
        if (tile) ws_.head_tile.ensure(tile);
    }
    M1_CUDA_CHECK(cudaMemcpyAsync(ws_.ids.p, ids, std::size_t(T) * 4, cudaMemcpyHostToDevice, st_));
    enqueue_layers(T, pos_, slot(cur_slot_));
    if (all_logits) {
        for (int r0 = 0; r0 < T; r0 += kLogitRows) {
            const int rows = std::min(kLogitRows, T - r0);
            const float* x = ws_.x.as<float>() + std::size_t(r0) * H;
            if (m_->tp)
                m_->tp->lm_head(*blas_, x, rows, ws_.logits.as<float>(), st_);
            else
                kern::lm_head(*blas_, x, H, rows, m_->lm_head, ws_.logits.as<float>(), V, ws_.head_tile.p);
            M1_CUDA_CHECK(cudaMemcpyAsync(all_logits + std::size_t(r0) * V, ws_.logits.p, std::size_t(rows) * V * 4,
                                          cudaMemcpyDeviceToHost, st_));
        }
        M1_CUDA_CHECK(cudaStreamSynchronize(st_));
        last_logits_.assign(all_logits + std::size_t(T - 1) * V, all_logits + std::size_t(T) * V);
        dev_logits_ = ws_.logits.as<float>() + std::size_t((T - 1) % kLogitRows) * V;  // the last tile's last row
        host_logits_ok_ = true;
        pick_ready_ = false;
    } else {
        enqueue_head_last(T);
        M1_CUDA_CHECK(cudaStreamSynchronize(st_));
        logits_now_on_device(ws_.logits.as<float>());
    }
    pos_ += T;
}

uint64_t CudaSession::buffer_signature() const {
    uint64_t h = 1469598103934665603ull;
    auto mix = [&](uint64_t v) { h = (h ^ v) * 1099511628211ull; };
    for (const DevBuf* b : {&ws_.x, &ws_.xb, &ws_.a, &ws_.big, &ws_.g, &ws_.qkvb, &ws_.ob, &ws_.gb, &ws_.ids,
                            &ws_.logits, &ws_.moe, &dec_, &states_})
        mix(reinterpret_cast<uintptr_t>(b->p));
    for (const LayerCache& lc : cache_) {
        mix(reinterpret_cast<uintptr_t>(lc.k.p));
        mix(reinterpret_cast<uintptr_t>(lc.v.p));
    }
    mix(uint64_t(cap_));
    return h;
}

// Captures the decode step at position pos into exec: updated in place when only parameters changed (cheap),
// else instantiated anew. Its first node copies the token id from the pinned slot, read when the graph runs.
void CudaSession::capture_decode(cudaGraphExec_t& exec, int64_t pos, int32_t* slot) {
    cudaGraph_t g = nullptr;
    M1_CUDA_CHECK(cudaStreamBeginCapture(st_, cudaStreamCaptureModeThreadLocal));
    try {
        M1_CUDA_CHECK(cudaMemcpyAsync(ws_.ids.p, slot, 4, cudaMemcpyHostToDevice, st_));
        enqueue_layers(1, pos, slot);
        enqueue_head_last(1);
        if (pick_armed_ && lazy_logits_) enqueue_pick(ws_.logits.as<float>(), pick_opts_, uint64_t(pos + 1 + pick_origin_));
    } catch (...) {
        cudaStreamEndCapture(st_, &g);
        if (g) cudaGraphDestroy(g);
        throw;
    }
    M1_CUDA_CHECK(cudaStreamEndCapture(st_, &g));
    bool ok = false;
    if (exec) {
        cudaGraphExecUpdateResultInfo info;
        ok = cudaGraphExecUpdate(exec, g, &info) == cudaSuccess;
        if (!ok) {
            cudaGetLastError();
            cudaGraphExecDestroy(exec);
            exec = nullptr;
        }
    }
    if (!ok) {
        const cudaError_t e = cudaGraphInstantiate(&exec, g, 0);
        cudaGraphDestroy(g);
        M1_CUDA_CHECK(e);
    } else {
        cudaGraphDestroy(g);
    }
}

// One token through the graph captured for this position: prepared during the previous step when nothing
// moved since, else captured now. While it runs, the next position's graph is captured into the other exec.
void CudaSession::decode_graph(int32_t id) {
    using clock = std::chrono::steady_clock;
    auto ms = [](clock::time_point a, clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
    const auto t0 = clock::now();
    ensure_workspace(1);
    ensure_cache(pos_ + 1);
    const uint64_t sig = buffer_signature();
    const bool ready = graph_next_ && next_pos_ == pos_ && next_sig_ == sig;
    if (ready) {
        std::swap(graph_, graph_next_);
        cur_slot_ ^= 1;
    } else {
        capture_decode(graph_, pos_, slot(cur_slot_));
    }
    next_pos_ = -1;
    slot(cur_slot_)[0] = id;
    const auto t1 = clock::now();
    M1_CUDA_CHECK(cudaEventRecord(step_ev_[0], st_));
    M1_CUDA_CHECK(cudaGraphLaunch(graph_, st_));
    M1_CUDA_CHECK(cudaEventRecord(step_ev_[1], st_));
    if (prepare_ && pos_ + 2 <= cap_) {  // the next step needs no cache growth: its buffers stay where they are
        try {
            capture_decode(graph_next_, pos_ + 1, slot(cur_slot_ ^ 1));
            next_pos_ = pos_ + 1;
            next_sig_ = sig;
        } catch (const cuda::CudaError&) {  // this step is in flight: finish it; the next captures (and reports) anew
            cudaGetLastError();
        }
    }
    const auto t2 = clock::now();
    M1_CUDA_CHECK(cudaStreamSynchronize(st_));
    logits_now_on_device(ws_.logits.as<float>());
    pick_ready_ = pick_armed_ && lazy_logits_;  // the graph picked for step pos_ + 1 + pick_origin_
    pos_ += 1;
    float gpu = 0;
    M1_CUDA_CHECK(cudaEventElapsedTime(&gpu, step_ev_[0], step_ev_[1]));
    stats_.steps += 1;
    stats_.prepared += ready ? 1 : 0;
    stats_.capture_ms += ms(t0, t1);
    stats_.overlap_ms += ms(t1, t2);
    stats_.gpu_ms += gpu;
    stats_.wall_ms += ms(t0, clock::now());
}

void CudaSession::forward(std::span<const int32_t> ids, float* all_logits) {
    const int64_t T = int64_t(ids.size()), V = c_.vocab_size;
    if (T == 0) return;
    for (std::size_t i = 0; i < ids.size(); ++i)
        if (ids[i] < 0 || ids[i] >= V)
            throw InputError("token " + std::to_string(i) + " has id " + std::to_string(ids[i]) +
                             ", outside the model's vocabulary (0.." + std::to_string(V - 1) + ")");
    if (pos_ + T > c_.max_position_embeddings)
        throw InputError("the sequence would reach " + std::to_string(pos_ + T) + " tokens, past the model's " +
                         std::to_string(c_.max_position_embeddings) + "-token limit");
    try {
        M1_CUDA_CHECK(cudaSetDevice(m_->device));
        if (T == 1 && !all_logits && m_->opts.cuda_graphs && !trace_) {
            decode_graph(ids[0]);
            return;
        }
        int chunk = int(std::max<int64_t>(1, m_->opts.max_chunk));
        for (int64_t done = 0; done < T;) {
            const int n = int(std::min<int64_t>(chunk, T - done));
            try {
                run_chunk(ids.data() + done, n, all_logits ? all_logits + done * V : nullptr);
            } catch (const cuda::CudaError& e) {
                // The chunk's workspace or cache did not fit (nothing of it ran): halve the chunk and go on, down
                // to kMinRetryChunk tokens, so that a prompt that fits in smaller steps still goes through. Not on
                // a tensor-parallel rank: its peers' collectives expect the same steps.
                if (!e.out_of_memory || n <= kMinRetryChunk || m_->tp) throw;
                cudaGetLastError();
                ws_.release();
                chunk = std::max(kMinRetryChunk, n / 2);
                continue;
            }
            done += n;
        }
    } catch (const cuda::CudaError& e) {
        // Allocation failures happen before a chunk's kernels run, so the state is intact; free what the
        // workspace holds so that the memory goes back. Any other error may have left the context broken.
        if (e.out_of_memory) {
            cudaGetLastError();
            ws_.release();
            throw DeviceError(std::string("GPU out of memory on cuda:") + std::to_string(m_->device) + ": " + e.what() +
                                  " (steps down to " + std::to_string(kMinRetryChunk) + " tokens were tried; free GPU "
                                  "memory, use int8 experts (M1_CUDA_EXPERTS=int8), more GPUs, or fewer tokens)",
                              true, false);
        }
        throw DeviceError(std::string("GPU error on cuda:") + std::to_string(m_->device) + ": " + e.what(), false,
                          cudaGetLastError() != cudaSuccess || cudaDeviceSynchronize() != cudaSuccess);
    }
}

void CudaSession::export_state(ByteSink& sink) const {
    const std::span<const float> lg = logits();  // copied from the device now if not yet
    M1_CUDA_CHECK(cudaSetDevice(m_->device));
    const StateHeader h = state_header(c_, fingerprint(), pos_, 1);  // bf16 KV, as the cache holds it
    // Through pooled pinned pieces (cuda_state_io.h): the device copies ahead while the host hashes and writes,
    // so a 40 GB cache streams with bounded memory.
    cuda_state::StateDownload out(sink, st_);
    out.write_header(h);
    const std::size_t sbytes = std::size_t(c_.num_heads) * c_.head_dim * c_.head_dim * 4;
    const std::size_t kv = std::size_t(pos_) * c_.kv_width() * 2;
    for (int l = 0; l < int(c_.num_layers); ++l) {
        if (state_index_[std::size_t(l)] >= 0) {
            out.from_device(states_.as<uint8_t>() + state_index_[std::size_t(l)] * sbytes, sbytes);
        } else {
            out.from_device(cache_[std::size_t(l)].k.p, kv);
            out.from_device(cache_[std::size_t(l)].v.p, kv);
        }
    }
    const uint32_t nlog = uint32_t(lg.size());
    out.write(&nlog, 4);
    out.write(lg.data(), lg.size() * 4);
    out.finish();
}

void CudaSession::import_state(ByteSource& source) {
    M1_CUDA_CHECK(cudaSetDevice(m_->device));
    // Staged in fresh device buffers, streamed through pooled pinned pieces (cuda_state_io.h: the stream is
    // read, hashed and copied to the device at the same time); only after the checksum matches do they
    // replace the session's, so a truncated or corrupt stream (or an allocation failure) leaves the session
    // unchanged. Costs the new cache's size in GPU memory meanwhile.
    const std::size_t sbytes = std::size_t(c_.num_heads) * c_.head_dim * c_.head_dim * 4;
    const std::size_t row = std::size_t(c_.kv_width()) * 2;
    std::vector<float> lg;
    std::vector<DevBuf> nk(std::size_t(c_.num_layers)), nv(std::size_t(c_.num_layers));
    DevBuf nstates;
    StateHeader h;
    int64_t cap = 0;
    try {
        cuda_state::StateUpload in(source, st_);
        h = in.read_header(c_, fingerprint());
        cap = std::max<int64_t>(std::max<int64_t>(h.position, 1), cap_);
        const bool f32 = h.kv_dtype == 0;
        if (states_.n > 0) nstates.ensure(states_.n);
        for (int l = 0; l < int(c_.num_layers); ++l) {
            const std::size_t li = std::size_t(l);
            if (state_index_[li] >= 0) {
                in.to_device(nstates.as<uint8_t>() + state_index_[li] * sbytes, sbytes);
            } else if (c_.layer_kinds[li] == LayerKind::Softmax) {
                nk[li].ensure(std::size_t(cap) * row);
                nv[li].ensure(std::size_t(cap) * row);
                const std::size_t n = std::size_t(h.position) * row;
                if (f32) {
                    in.to_device_bf16(nk[li].p, n);
                    in.to_device_bf16(nv[li].p, n);
                } else {
                    in.to_device(nk[li].p, n);
                    in.to_device(nv[li].p, n);
                }
            }
        }
        uint32_t nlog = 0;
        in.read(&nlog, 4);
        if (nlog != 0 && nlog != uint32_t(c_.vocab_size))
            throw StateFormatError("state: the stored logits have " + std::to_string(nlog) +
                                   " entries, the model's vocabulary " + std::to_string(c_.vocab_size));
        lg.resize(nlog);
        in.read(lg.data(), std::size_t(nlog) * 4);
        in.finish();
    } catch (const cuda::CudaError& e) {
        cudaGetLastError();
        throw DeviceError(std::string("importing a state on cuda:") + std::to_string(m_->device) + ": " + e.what(),
                          e.out_of_memory, false);
    }
    // Verified and on the device: swap in (no CUDA call can fail before the session is consistent).
    for (std::size_t l = 0; l < nk.size(); ++l) {
        if (c_.layer_kinds[l] != LayerKind::Softmax) continue;
        std::swap(cache_[l].k.p, nk[l].p);
        std::swap(cache_[l].k.n, nk[l].n);
        std::swap(cache_[l].v.p, nv[l].p);
        std::swap(cache_[l].v.n, nv[l].n);
    }
    if (nstates.p) {
        std::swap(states_.p, nstates.p);
        std::swap(states_.n, nstates.n);
    }
    drop_graphs();  // captured pointers changed (the prepared next-position graph too)
    last_logits_ = std::move(lg);
    host_logits_ok_ = true;
    dev_logits_ = nullptr;  // the imported logits are on the host only: picks there
    pick_ready_ = false;
    pos_ = h.position;
    if (cap > cap_) {
        cap_ = cap;
        pos_ = 0;  // the decode workspace may need to grow; on failure the session is empty, not inconsistent
        try {
            if (c_.head_dim == 128 && c_.num_softmax_layers() > 0) {
                const int splits = cuda::attention_decode_default_splits(
                    1, int(c_.num_kv_heads), int(std::min<int64_t>(cap_, INT32_MAX)), sm_count_);
                dec_.ensure(256 + cuda::attention_decode_workspace_bytes(1, int(c_.num_heads), splits));
            }
        } catch (const cuda::CudaError& e) {
            last_logits_.clear();
            host_logits_ok_ = true;
            throw DeviceError(std::string("importing a state on cuda:") + std::to_string(m_->device) + ": " + e.what(),
                              e.out_of_memory, false);
        }
        pos_ = h.position;
    }
}

}  // namespace

void set_cuda_trace(Session& s, CudaTraceFn fn) {
    auto* cs = dynamic_cast<CudaSession*>(&s);
    if (!cs) throw std::invalid_argument("set_cuda_trace: the session (" + s.device() + ") is not a CUDA session");
    cs->trace_ = std::move(fn);
}

CudaDecodeStats cuda_decode_stats(const Session& s) {
    const auto* cs = dynamic_cast<const CudaSession*>(&s);
    if (!cs) throw std::invalid_argument("cuda_decode_stats: the session (" + s.device() + ") is not a CUDA session");
    return cs->stats_;
}

void set_cuda_decode_prepare(Session& s, bool on) {
    auto* cs = dynamic_cast<CudaSession*>(&s);
    if (!cs) throw std::invalid_argument("set_cuda_decode_prepare: the session (" + s.device() + ") is not a CUDA session");
    cs->prepare_ = on;
}

std::unique_ptr<Session> new_cuda_session(std::shared_ptr<CudaModel> model) {
    try {
        return std::make_unique<CudaSession>(std::move(model));
    } catch (const cuda::CudaError& e) {
        throw DeviceError(std::string("creating a CUDA session: ") + e.what(), e.out_of_memory, false);
    }
}

}  // namespace m1
