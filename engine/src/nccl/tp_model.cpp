// A rank's CUDA model under tensor parallelism: device buffers sized for its slices (parallel_shard.h)
// filled either from the checkpoint's memory-mapped shards (each rank reads only its rows and columns,
// as 2-D copies straight from the mapping when the dtype already matches) or from a full model on
// another GPU (peer copies). Embedding and norms are replicated; the LM head is split by vocabulary.
// Experts: a slice of every expert's width (MoeSplit::tensor) or whole experts (MoeSplit::expert).
#include <cuda_runtime.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "kernels/cuda_check.cuh"
#include "kernels/quant_int8.cuh"
#include "m1/model.h"
#include "m1/parallel_buffer.h"
#include "nccl/tp_backend.h"

namespace m1 {
namespace {

using bf16 = __nv_bfloat16;

// The rank's own config: its heads, KV heads and expert width (vocabulary stays global: the
// embedding is replicated and the LM head goes through TpLink).
ModelConfig local_config(const ModelConfig& g, const TpShape& tp) {
    ModelConfig c = g;
    c.num_heads = tp.heads.size();
    c.num_kv_heads = tp.kv_heads.size();
    c.intermediate_size = tp.width.size();
    return c;
}

void* alloc(CudaModel& m, std::size_t n, const char* what) {
    if (faults().oom_device == m.device)
        throw GpuError(m.device, "out of memory on GPU " + std::to_string(m.device) + " allocating " + what +
                                     " [injected by M1_FAULT_OOM_DEVICE]");
    try {
        return m.alloc(n);
    } catch (const cuda::CudaError& e) {
        cudaGetLastError();
        throw GpuError(m.device, "out of memory on GPU " + std::to_string(m.device) + " allocating " +
                                     std::to_string(n >> 20) + " MiB for " + what + ": " + e.what() +
                                     " (use more GPUs or int8 experts)");
    }
}

// Buffers for the rank's slices, shaped like the single-GPU model with the local config.
void alloc_rank(CudaModel& m, const ModelConfig& g, const TpShape& tp) {
    const ModelConfig& c = m.cfg;
    const std::size_t H = c.hidden_size, I = c.intermediate_size, E = c.num_experts, V = g.vocab_size;
    const std::size_t Eh = std::size_t(tp.experts.size());  // experts held (all of them unless expert parallel)
    const std::size_t Wd = c.lightning_width(), kvw = c.kv_width(), dh = c.head_dim;
    m.embed = static_cast<bf16*>(alloc(m, V * H * 2, "the embedding"));
    m.final_norm = static_cast<bf16*>(alloc(m, H * 2, "the final norm"));
    const bool f32 = m.opts.lm_head_f32;  // bf16 as M1 stores it; the logits are computed in fp32 from it
    m.lm_head = {alloc(m, std::size_t(tp.vocab.size()) * H * (f32 ? 4 : 2), "the LM head slice"),
                 f32 ? kern::WeightType::F32 : kern::WeightType::BF16, int(tp.vocab.size()), int(H)};
    m.layers.resize(std::size_t(c.num_layers));
    for (int l = 0; l < int(c.num_layers); ++l) {
        CudaLayer& ly = m.layers[std::size_t(l)];
        ly.in_norm = static_cast<bf16*>(alloc(m, H * 2, "norms"));
        ly.post_norm = static_cast<bf16*>(alloc(m, H * 2, "norms"));
        ly.router = static_cast<float*>(alloc(m, E * H * 4, "the router"));
        auto& ex = ly.experts;
        ex.E = int(E);
        ex.H = int(H);
        ex.I = int(I);
        if (tp.moe == MoeSplit::expert) {
            ex.e_begin = int(tp.experts.begin);
            ex.e_count = int(Eh);
        }
        if (m.opts.int8_experts) {
            ex.q13 = static_cast<int8_t*>(alloc(m, Eh * 2 * I * H, "experts"));
            ex.s13 = static_cast<float*>(alloc(m, Eh * 2 * I * 4, "experts"));
            ex.q2 = static_cast<int8_t*>(alloc(m, Eh * H * I, "experts"));
            ex.s2 = static_cast<float*>(alloc(m, Eh * H * 4, "experts"));
        } else {
            ex.w13 = static_cast<bf16*>(alloc(m, Eh * 2 * I * H * 2, "experts"));
            ex.w2 = static_cast<bf16*>(alloc(m, Eh * H * I * 2, "experts"));
        }
        if (c.layer_kinds[std::size_t(l)] == LayerKind::Lightning) {
            ly.lin_qkv = static_cast<bf16*>(alloc(m, 3 * Wd * H * 2, "lightning attention"));
            ly.lin_gate = static_cast<bf16*>(alloc(m, Wd * H * 2, "lightning attention"));
            ly.lin_out = static_cast<bf16*>(alloc(m, H * Wd * 2, "lightning attention"));
            ly.lin_norm = static_cast<bf16*>(alloc(m, Wd * 2, "lightning attention"));
            ly.slopes = static_cast<float*>(alloc(m, std::size_t(c.num_heads) * 4, "lightning attention"));
            std::vector<float> sl;  // the global heads' decay rates
            auto all = g.lightning_slopes(l);
            for (int64_t h = tp.heads.begin; h < tp.heads.end; ++h) sl.push_back(float(all[std::size_t(h)]));
            M1_CUDA_CHECK(cudaMemcpy(ly.slopes, sl.data(), sl.size() * 4, cudaMemcpyHostToDevice));
        } else {
            ly.attn_qkv = static_cast<bf16*>(alloc(m, (Wd + 2 * kvw) * H * 2, "softmax attention"));
            ly.attn_o = static_cast<bf16*>(alloc(m, H * Wd * 2, "softmax attention"));
        }
        (void)dh;
    }
}

std::shared_ptr<CudaModel> new_rank_model(const ModelConfig& g, const std::string& fp, int device,
                                          const CudaOptions& opts, const TpShape& tp) {
    auto m = std::make_shared<CudaModel>();
    m->cfg = local_config(g, tp);
    m->fingerprint = fp;
    m->device = device;
    m->opts = opts;
    // The callers plan one prefill step for all ranks (make_tp_backend) or take the twin's (TpTwin::random): the
    // ranks' collectives meet step by step, so a rank must not choose its own.
    if (m->opts.max_chunk <= 0) throw std::invalid_argument("a rank model needs its planned prefill step (max_chunk)");
    m->opts.cuda_graphs = false;  // each TP session turns graphs on when its GPUs can run the peer collectives
    M1_CUDA_CHECK(cudaSetDevice(device));
    alloc_rank(*m, g, tp);
    return m;
}

// rows x cols block of a row-major source (elements of `es` bytes, `pitch` elements per row) to a
// packed destination. Host or device source alike (unified addressing).
void copy_block(void* dst, const void* src, std::size_t pitch, Range rows, Range cols, std::size_t es) {
    const auto* s = static_cast<const uint8_t*>(src) + (std::size_t(rows.begin) * pitch + std::size_t(cols.begin)) * es;
    const std::size_t w = std::size_t(cols.size()) * es;
    M1_CUDA_CHECK(cudaMemcpy2D(dst, w, s, pitch * es, w, std::size_t(rows.size()), cudaMemcpyDefault));
}

// One checkpoint tensor's block to the device as bf16 (or fp32): straight from the mapping when the
// dtype matches, else converted on the host row by row.
void upload_block(const TensorInfo& t, Range rows, Range cols, void* dst, bool as_f32) {
    const std::size_t pitch = t.shape.size() > 1 ? std::size_t(t.shape[1]) : 1;
    if ((!as_f32 && t.dtype == DType::BF16) || (as_f32 && t.dtype == DType::F32)) {
        copy_block(dst, t.data, pitch, rows, cols, as_f32 ? 4 : 2);
        return;
    }
    const std::size_t w = std::size_t(cols.size()), es = dtype_size(t.dtype);
    std::vector<float> f(w * std::size_t(rows.size()));
    for (int64_t r = rows.begin; r < rows.end; ++r)
        to_f32(t.dtype, t.data + (std::size_t(r) * pitch + std::size_t(cols.begin)) * es,
               f.data() + std::size_t(r - rows.begin) * w, w);
    if (as_f32) {
        M1_CUDA_CHECK(cudaMemcpy(dst, f.data(), f.size() * 4, cudaMemcpyHostToDevice));
    } else {
        std::vector<uint16_t> b(f.size());
        for (std::size_t i = 0; i < f.size(); ++i) b[i] = f32_to_bf16(f[i]);
        M1_CUDA_CHECK(cudaMemcpy(dst, b.data(), b.size() * 2, cudaMemcpyHostToDevice));
    }
}

Range all_of(const TensorInfo& t, int dim) { return {0, dim < int(t.shape.size()) ? t.shape[std::size_t(dim)] : 1}; }

}  // namespace

uint64_t rank_load_bytes(const Model& model, const TpShape& tp) {
    uint64_t b = 0;
    for (const auto& t : expected_tensors(model.config())) {
        const TensorInfo* info = model.weights().find(t.name);
        if (!info) continue;
        const int64_t n = t.role == TensorRole::Embed ? info->numel() : shard_slice(model.config(), t, tp).numel();
        b += uint64_t(n) * dtype_size(info->dtype);  // the embedding is read whole (replicated)
    }
    return b;
}

std::shared_ptr<CudaModel> load_rank_model(const Model& model, int device, const CudaOptions& opts, const TpShape& tp,
                                           std::atomic<uint64_t>& done, const std::atomic<bool>* cancel) {
    const ModelConfig& g = model.config();
    try {
        CudaOptions o = opts;
        o.lm_head_f32 = model.tensor(TensorRole::LmHead).dtype != DType::BF16;
        auto m = new_rank_model(g, model.fingerprint(), device, o, tp);
        const ModelConfig& c = m->cfg;
        const std::size_t H = c.hidden_size, I = c.intermediate_size, Wd = c.lightning_width(), kvw = c.kv_width();
        // Copies the rank's block of one tensor and counts its bytes.
        auto put = [&](TensorRole role, int l, int e, void* dst, bool as_f32, bool whole = false) {
            if (cancel && cancel->load()) throw LoadCancelled();  // m's destructor frees this rank's memory
            const TensorInfo& t = model.tensor(role, l, e);
            ExpectedTensor et{t.name, t.shape, role, l, e};
            ShardSlice s = shard_slice(g, et, tp);
            if (whole) s = ShardSlice{true, true, all_of(t, 0), all_of(t, 1)};
            upload_block(t, s.rows, s.cols, dst, as_f32);
            done += uint64_t(s.numel()) * dtype_size(t.dtype);
        };
        put(TensorRole::Embed, -1, -1, m->embed, false, /*whole=*/true);  // replicated: the lookup stays local
        put(TensorRole::FinalNorm, -1, -1, m->final_norm, false);
        put(TensorRole::LmHead, -1, -1, const_cast<void*>(m->lm_head.w), m->opts.lm_head_f32);
        bf16* stage = nullptr;
        if (opts.int8_experts) M1_CUDA_CHECK(cudaMalloc(&stage, 2 * I * H * 2));
        struct StageGuard {
            bf16*& p;
            ~StageGuard() { if (p) cudaFree(p); }
        } guard{stage};
        for (int l = 0; l < int(c.num_layers); ++l) {
            CudaLayer& ly = m->layers[std::size_t(l)];
            put(TensorRole::InputNorm, l, -1, ly.in_norm, false);
            put(TensorRole::PostAttnNorm, l, -1, ly.post_norm, false);
            put(TensorRole::Router, l, -1, ly.router, true);
            auto& ex = ly.experts;
            // Only the experts this rank holds are read (expert parallel: its E/N; else a slice of all).
            for (int e = int(tp.experts.begin); e < int(tp.experts.end); ++e) {
                const std::size_t j = std::size_t(e - tp.experts.begin);  // index among the held experts
                bf16* w13 = opts.int8_experts ? stage : const_cast<bf16*>(ex.w13) + j * 2 * I * H;
                put(TensorRole::ExpertW1, l, e, w13, false);
                put(TensorRole::ExpertW3, l, e, w13 + I * H, false);
                if (opts.int8_experts) {
                    kern::quantize_rows_int8(stage, int(2 * I), int(H), const_cast<int8_t*>(ex.q13) + j * 2 * I * H,
                                             const_cast<float*>(ex.s13) + j * 2 * I, nullptr);
                    M1_CUDA_CHECK(cudaDeviceSynchronize());
                    put(TensorRole::ExpertW2, l, e, stage, false);
                    kern::quantize_rows_int8(stage, int(H), int(I), const_cast<int8_t*>(ex.q2) + j * H * I,
                                             const_cast<float*>(ex.s2) + j * H, nullptr);
                    M1_CUDA_CHECK(cudaDeviceSynchronize());
                } else {
                    put(TensorRole::ExpertW2, l, e, const_cast<bf16*>(ex.w2) + j * H * I, false);
                }
            }
            if (ly.lin_qkv) {
                put(TensorRole::LinQkv, l, -1, ly.lin_qkv, false);
                put(TensorRole::LinGate, l, -1, ly.lin_gate, false);
                put(TensorRole::LinOut, l, -1, ly.lin_out, false);
                put(TensorRole::LinNorm, l, -1, ly.lin_norm, false);
            } else {
                put(TensorRole::AttnQ, l, -1, ly.attn_qkv, false);
                put(TensorRole::AttnK, l, -1, ly.attn_qkv + Wd * H, false);
                put(TensorRole::AttnV, l, -1, ly.attn_qkv + (Wd + kvw) * H, false);
                put(TensorRole::AttnO, l, -1, ly.attn_o, false);
            }
        }
        return m;
    } catch (const cuda::CudaError& e) {
        cudaGetLastError();
        throw GpuError(device, "loading rank " + std::to_string(tp.rank) + " onto GPU " + std::to_string(device) + ": " +
                                   e.what());
    }
}

std::shared_ptr<CudaModel> shard_cuda_model(const CudaModel& full, int device, const TpShape& tp) {
    const ModelConfig& g = full.cfg;
    try {
        auto m = new_rank_model(g, full.fingerprint, device, full.opts, tp);
        const ModelConfig& c = m->cfg;
        const std::size_t H = g.hidden_size, I = g.intermediate_size, dh = g.head_dim, Wd = g.lightning_width(),
                          kvw = g.kv_width(), E = g.num_experts;
        const std::size_t Il = c.intermediate_size, Wl = c.lightning_width(), kvl = c.kv_width();
        const Range Hr{0, int64_t(H)};
        copy_block(m->embed, full.embed, H, {0, g.vocab_size}, Hr, 2);
        copy_block(m->final_norm, full.final_norm, 1, Hr, {0, 1}, 2);
        copy_block(const_cast<void*>(m->lm_head.w), full.lm_head.w, H, tp.vocab, Hr, full.opts.lm_head_f32 ? 4 : 2);
        for (int l = 0; l < int(g.num_layers); ++l) {
            const CudaLayer& f = full.layers[std::size_t(l)];
            CudaLayer& ly = m->layers[std::size_t(l)];
            copy_block(ly.in_norm, f.in_norm, 1, Hr, {0, 1}, 2);
            copy_block(ly.post_norm, f.post_norm, 1, Hr, {0, 1}, 2);
            copy_block(ly.router, f.router, H, {0, int64_t(E)}, Hr, 4);
            const auto& fe = f.experts;
            auto& ex = ly.experts;
            const bool q = fe.is_int8();
            const std::size_t es = q ? 1 : 2;
            const Range w = tp.width;
            // w13 rows: the w1 slice, then the w3 slice; w2 columns. Held expert j is global expert e.
            for (std::size_t j = 0, e = std::size_t(tp.experts.begin); e < std::size_t(tp.experts.end); ++j, ++e) {
                auto* d13 = q ? static_cast<void*>(const_cast<int8_t*>(ex.q13)) : static_cast<void*>(const_cast<bf16*>(ex.w13));
                auto* s13 = q ? static_cast<const void*>(fe.q13) : static_cast<const void*>(fe.w13);
                auto* dst = static_cast<uint8_t*>(d13) + j * 2 * Il * H * es;
                auto* src = static_cast<const uint8_t*>(s13) + e * 2 * I * H * es;
                copy_block(dst, src, H, w, Hr, es);
                copy_block(dst + Il * H * es, src + I * H * es, H, w, Hr, es);
                auto* d2 = q ? static_cast<void*>(const_cast<int8_t*>(ex.q2)) : static_cast<void*>(const_cast<bf16*>(ex.w2));
                auto* s2 = q ? static_cast<const void*>(fe.q2) : static_cast<const void*>(fe.w2);
                copy_block(static_cast<uint8_t*>(d2) + j * H * Il * es, static_cast<const uint8_t*>(s2) + e * H * I * es, I,
                           Hr, w, es);
                if (q) {  // row scales: the w13 rows' own, and all of w2's (its rows are whole)
                    copy_block(const_cast<float*>(ex.s13) + j * 2 * Il, fe.s13 + e * 2 * I, 1, w, {0, 1}, 4);
                    copy_block(const_cast<float*>(ex.s13) + j * 2 * Il + Il, fe.s13 + e * 2 * I + I, 1, w, {0, 1}, 4);
                    copy_block(const_cast<float*>(ex.s2) + j * H, fe.s2 + e * H, 1, Hr, {0, 1}, 4);
                }
            }
            if (f.lin_qkv) {
                copy_block(ly.lin_qkv, f.lin_qkv, H, {tp.heads.begin * 3 * int64_t(dh), tp.heads.end * 3 * int64_t(dh)}, Hr, 2);
                const Range hr{tp.heads.begin * int64_t(dh), tp.heads.end * int64_t(dh)};
                copy_block(ly.lin_gate, f.lin_gate, H, hr, Hr, 2);
                copy_block(ly.lin_out, f.lin_out, Wd, Hr, hr, 2);
                copy_block(ly.lin_norm, f.lin_norm, 1, hr, {0, 1}, 2);
            } else {  // fused [q | k | v] rows -> the local [q_l | k_l | v_l]
                const Range qr{tp.heads.begin * int64_t(dh), tp.heads.end * int64_t(dh)};
                const Range kr{tp.kv_heads.begin * int64_t(dh), tp.kv_heads.end * int64_t(dh)};
                copy_block(ly.attn_qkv, f.attn_qkv, H, qr, Hr, 2);
                copy_block(ly.attn_qkv + Wl * H, f.attn_qkv + Wd * H, H, kr, Hr, 2);
                copy_block(ly.attn_qkv + (Wl + kvl) * H, f.attn_qkv + (Wd + kvw) * H, H, kr, Hr, 2);
                copy_block(ly.attn_o, f.attn_o, Wd, Hr, qr, 2);
            }
        }
        M1_CUDA_CHECK(cudaDeviceSynchronize());
        return m;
    } catch (const cuda::CudaError& e) {
        cudaGetLastError();
        throw GpuError(device, "sharding rank " + std::to_string(tp.rank) + " onto GPU " + std::to_string(device) + ": " +
                                   e.what());
    }
}

}  // namespace m1
