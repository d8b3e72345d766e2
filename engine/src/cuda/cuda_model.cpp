// Weights to the GPU: from the memory-mapped safetensors (converted to bf16 on the host in pieces, or
// copied straight when already bf16), or random on the GPU. Experts optionally quantised to int8 on the GPU.
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

#include "cuda/cuda_model.h"
#include "kernels/cuda_check.cuh"
#include "kernels/fill_random.cuh"
#include "kernels/quant_int8.cuh"
#include "m1/model.h"

namespace m1 {
namespace {

using bf16 = __nv_bfloat16;
constexpr std::size_t kPiece = std::size_t(16) << 20;  // elements converted per host step

// Copies a tensor (any float dtype) into device memory as bf16 or fp32.
void upload(const TensorInfo& t, void* dst, bool as_f32) {
    const std::size_t n = std::size_t(t.numel());
    if (!as_f32 && t.dtype == DType::BF16) {
        M1_CUDA_CHECK(cudaMemcpy(dst, t.data, n * 2, cudaMemcpyHostToDevice));
        return;
    }
    if (as_f32 && t.dtype == DType::F32) {
        M1_CUDA_CHECK(cudaMemcpy(dst, t.data, n * 4, cudaMemcpyHostToDevice));
        return;
    }
    std::vector<float> f(std::min(n, kPiece));
    std::vector<uint16_t> b(as_f32 ? 0 : f.size());
    const std::size_t es = dtype_size(t.dtype);
    for (std::size_t done = 0; done < n;) {
        const std::size_t m = std::min(kPiece, n - done);
        to_f32(t.dtype, t.data + done * es, f.data(), m);
        if (as_f32) {
            M1_CUDA_CHECK(cudaMemcpy(static_cast<float*>(dst) + done, f.data(), m * 4, cudaMemcpyHostToDevice));
        } else {
            for (std::size_t i = 0; i < m; ++i) b[i] = f32_to_bf16(f[i]);
            M1_CUDA_CHECK(cudaMemcpy(static_cast<uint16_t*>(dst) + done, b.data(), m * 2, cudaMemcpyHostToDevice));
        }
        done += m;
    }
}

std::size_t numel(TensorRole r, const ModelConfig& c) {
    const std::size_t H = c.hidden_size, Wd = c.lightning_width();
    switch (r) {
        case TensorRole::LinQkv: return 3 * Wd * H;
        case TensorRole::LinGate: case TensorRole::LinOut: return Wd * H;
        default: return 0;
    }
}

// Sizes shared by the planner and the allocator.
struct Sizes {
    std::size_t H, I, E, V, Wd, kvw, L;
    explicit Sizes(const ModelConfig& c)
        : H(c.hidden_size), I(c.intermediate_size), E(c.num_experts), V(c.vocab_size), Wd(c.lightning_width()),
          kvw(c.kv_width()), L(c.num_layers) {}
};

void alloc_layer(CudaModel& m, CudaLayer& ly, int l) {
    const ModelConfig& c = m.cfg;
    const Sizes s(c);
    ly.in_norm = static_cast<bf16*>(m.alloc(s.H * 2));
    ly.post_norm = static_cast<bf16*>(m.alloc(s.H * 2));
    ly.router = static_cast<float*>(m.alloc(s.E * s.H * 4));
    auto& ex = ly.experts;
    ex.E = int(s.E);
    ex.H = int(s.H);
    ex.I = int(s.I);
    if (m.opts.int8_experts) {
        ex.q13 = static_cast<int8_t*>(m.alloc(s.E * 2 * s.I * s.H));
        ex.s13 = static_cast<float*>(m.alloc(s.E * 2 * s.I * 4));
        ex.q2 = static_cast<int8_t*>(m.alloc(s.E * s.H * s.I));
        ex.s2 = static_cast<float*>(m.alloc(s.E * s.H * 4));
    } else {
        ex.w13 = static_cast<bf16*>(m.alloc(s.E * 2 * s.I * s.H * 2));
        ex.w2 = static_cast<bf16*>(m.alloc(s.E * s.H * s.I * 2));
    }
    if (c.layer_kinds[std::size_t(l)] == LayerKind::Lightning) {
        ly.lin_qkv = static_cast<bf16*>(m.alloc(numel(TensorRole::LinQkv, c) * 2));
        ly.lin_gate = static_cast<bf16*>(m.alloc(numel(TensorRole::LinGate, c) * 2));
        ly.lin_out = static_cast<bf16*>(m.alloc(numel(TensorRole::LinOut, c) * 2));
        ly.lin_norm = static_cast<bf16*>(m.alloc(s.Wd * 2));
        ly.slopes = static_cast<float*>(m.alloc(std::size_t(c.num_heads) * 4));
        std::vector<float> sl;
        for (double v : c.lightning_slopes(l)) sl.push_back(float(v));
        M1_CUDA_CHECK(cudaMemcpy(ly.slopes, sl.data(), sl.size() * 4, cudaMemcpyHostToDevice));
    } else {
        ly.attn_qkv = static_cast<bf16*>(m.alloc((s.Wd + 2 * s.kvw) * s.H * 2));
        ly.attn_o = static_cast<bf16*>(m.alloc(s.H * s.Wd * 2));
    }
}

void alloc_globals(CudaModel& m) {
    const Sizes s(m.cfg);
    m.embed = static_cast<bf16*>(m.alloc(s.V * s.H * 2));
    m.final_norm = static_cast<bf16*>(m.alloc(s.H * 2));
    const bool f32 = m.opts.lm_head_f32;  // bf16 otherwise: exact for M1, whose checkpoint stores it in bf16
    m.lm_head = {m.alloc(s.V * s.H * (f32 ? 4 : 2)), f32 ? kern::WeightType::F32 : kern::WeightType::BF16, int(s.V),
                 int(s.H)};
    m.layers.resize(s.L);
}

// Experts of one layer: w1 and w3 side by side per expert, w2; through a bf16 staging buffer when int8.
void upload_experts(const Model& model, CudaModel& m, CudaLayer& ly, int l, bf16* stage) {
    const Sizes s(m.cfg);
    auto& ex = ly.experts;
    for (int e = 0; e < int(s.E); ++e) {
        bf16* w13 = m.opts.int8_experts ? stage : const_cast<bf16*>(ex.w13) + std::size_t(e) * 2 * s.I * s.H;
        upload(model.tensor(TensorRole::ExpertW1, l, e), w13, false);
        upload(model.tensor(TensorRole::ExpertW3, l, e), w13 + s.I * s.H, false);
        if (m.opts.int8_experts) {
            kern::quantize_rows_int8(stage, int(2 * s.I), int(s.H), const_cast<int8_t*>(ex.q13) + std::size_t(e) * 2 * s.I * s.H,
                                     const_cast<float*>(ex.s13) + std::size_t(e) * 2 * s.I, nullptr);
            M1_CUDA_CHECK(cudaDeviceSynchronize());
            upload(model.tensor(TensorRole::ExpertW2, l, e), stage, false);
            kern::quantize_rows_int8(stage, int(s.H), int(s.I), const_cast<int8_t*>(ex.q2) + std::size_t(e) * s.H * s.I,
                                     const_cast<float*>(ex.s2) + std::size_t(e) * s.H, nullptr);
            M1_CUDA_CHECK(cudaDeviceSynchronize());
        } else {
            upload(model.tensor(TensorRole::ExpertW2, l, e), const_cast<bf16*>(ex.w2) + std::size_t(e) * s.H * s.I, false);
        }
    }
}

// max_chunk 0 (auto) becomes a number here, before the weights take their memory (see auto_prefill_chunk).
void resolve_prefill_chunk(CudaModel& m) {
    if (m.opts.max_chunk > 0) return;
    std::size_t free_bytes = 0, total = 0;
    M1_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total));
    m.opts.max_chunk = auto_prefill_chunk(m.cfg, m.opts, free_bytes);
}

}  // namespace

CudaModel::~CudaModel() {
    cudaSetDevice(device);
    for (void* p : allocations) cudaFree(p);
}

void* CudaModel::alloc(std::size_t n) {
    void* p = nullptr;
    M1_CUDA_CHECK(cudaMalloc(&p, std::max<std::size_t>(n, 256)));
    allocations.push_back(p);
    bytes += n;
    return p;
}

std::shared_ptr<CudaModel> upload_model(const Model& model, int device, const CudaOptions& opts,
                                        const LoadOptions& load) {
    const auto t0 = std::chrono::steady_clock::now();  // for the progress rate
    auto m = std::make_shared<CudaModel>();
    m->cfg = model.config();
    m->fingerprint = model.fingerprint();
    m->device = device;
    m->opts = opts;
    m->opts.lm_head_f32 = model.tensor(TensorRole::LmHead).dtype != DType::BF16;
    M1_CUDA_CHECK(cudaSetDevice(device));
    resolve_prefill_chunk(*m);
    const Sizes s(m->cfg);
    alloc_globals(*m);
    upload(model.tensor(TensorRole::Embed), m->embed, false);
    upload(model.tensor(TensorRole::FinalNorm), m->final_norm, false);
    upload(model.tensor(TensorRole::LmHead), const_cast<void*>(m->lm_head.w), m->opts.lm_head_f32);
    bf16* stage = nullptr;
    if (opts.int8_experts) M1_CUDA_CHECK(cudaMalloc(&stage, 2 * s.I * s.H * 2));
    // Progress by checkpoint bytes, reported after each layer (the globals count as done up front).
    std::vector<uint64_t> layer_bytes(s.L, 0);
    uint64_t done = 0, total = 0;
    for (const ExpectedTensor& e : expected_tensors(m->cfg)) {
        const uint64_t n = model.tensor(e.role, e.layer, e.expert).nbytes;
        total += n;
        (e.layer >= 0 ? layer_bytes[std::size_t(e.layer)] : done) += n;
    }
    const std::string what = "weights to cuda:" + std::to_string(device);
    try {
        for (int l = 0; l < int(s.L); ++l) {
            if (load.cancel && load.cancel->load()) throw LoadCancelled();  // m's destructor frees the GPU memory
            CudaLayer& ly = m->layers[std::size_t(l)];
            alloc_layer(*m, ly, l);
            upload(model.tensor(TensorRole::InputNorm, l), ly.in_norm, false);
            upload(model.tensor(TensorRole::PostAttnNorm, l), ly.post_norm, false);
            upload(model.tensor(TensorRole::Router, l), ly.router, true);
            upload_experts(model, *m, ly, l, stage);
            if (ly.lin_qkv) {
                upload(model.tensor(TensorRole::LinQkv, l), ly.lin_qkv, false);
                upload(model.tensor(TensorRole::LinGate, l), ly.lin_gate, false);
                upload(model.tensor(TensorRole::LinOut, l), ly.lin_out, false);
                upload(model.tensor(TensorRole::LinNorm, l), ly.lin_norm, false);
            } else {
                upload(model.tensor(TensorRole::AttnQ, l), ly.attn_qkv, false);
                upload(model.tensor(TensorRole::AttnK, l), ly.attn_qkv + s.Wd * s.H, false);
                upload(model.tensor(TensorRole::AttnV, l), ly.attn_qkv + (s.Wd + s.kvw) * s.H, false);
                upload(model.tensor(TensorRole::AttnO, l), ly.attn_o, false);
            }
            done += layer_bytes[std::size_t(l)];
            if (load.progress) {
                const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
                load.progress(total ? double(done) / double(total) : 1.0, load_rate_text(what, done, total, secs));
            }
        }
    } catch (...) {
        if (stage) cudaFree(stage);
        throw;
    }
    if (stage) cudaFree(stage);
    return m;
}

std::shared_ptr<CudaModel> random_cuda_model(const ModelConfig& cfg, int device, const CudaOptions& opts,
                                             uint64_t seed) {
    auto m = std::make_shared<CudaModel>();
    m->cfg = cfg;
    m->fingerprint = "m1fp1-random-" + std::to_string(seed);
    m->device = device;
    m->opts = opts;
    M1_CUDA_CHECK(cudaSetDevice(device));
    resolve_prefill_chunk(*m);
    const Sizes s(cfg);
    alloc_globals(*m);
    uint64_t k = seed;
    // Scales keep activations O(1): uniform(-a, a) with a = sqrt(3 / fan_in) has unit-variance outputs.
    auto rnd = [&](bf16* p, std::size_t n, std::size_t fan_in) {
        kern::fill_uniform_bf16(p, n, std::sqrt(3.f / float(fan_in)), ++k, nullptr);
    };
    rnd(m->embed, s.V * s.H, 3);
    kern::fill_const_bf16(m->final_norm, s.H, 1.f, nullptr);
    void* head = const_cast<void*>(m->lm_head.w);
    if (opts.lm_head_f32)
        kern::fill_uniform_f32(static_cast<float*>(head), s.V * s.H, std::sqrt(3.f / float(s.H)), ++k, nullptr);
    else
        rnd(static_cast<bf16*>(head), s.V * s.H, s.H);
    bf16* stage = nullptr;
    if (opts.int8_experts) M1_CUDA_CHECK(cudaMalloc(&stage, 2 * s.I * s.H * 2));
    for (int l = 0; l < int(s.L); ++l) {
        CudaLayer& ly = m->layers[std::size_t(l)];
        alloc_layer(*m, ly, l);
        kern::fill_const_bf16(ly.in_norm, s.H, 1.f, nullptr);
        kern::fill_const_bf16(ly.post_norm, s.H, 1.f, nullptr);
        kern::fill_uniform_f32(ly.router, s.E * s.H, std::sqrt(3.f / float(s.H)), ++k, nullptr);
        auto& ex = ly.experts;
        for (int e = 0; e < int(s.E); ++e) {
            if (opts.int8_experts) {
                rnd(stage, 2 * s.I * s.H, s.H);
                kern::quantize_rows_int8(stage, int(2 * s.I), int(s.H), const_cast<int8_t*>(ex.q13) + e * 2 * s.I * s.H,
                                         const_cast<float*>(ex.s13) + e * 2 * s.I, nullptr);
                rnd(stage, s.H * s.I, s.I);
                kern::quantize_rows_int8(stage, int(s.H), int(s.I), const_cast<int8_t*>(ex.q2) + e * s.H * s.I,
                                         const_cast<float*>(ex.s2) + e * s.H, nullptr);
            } else {
                rnd(const_cast<bf16*>(ex.w13) + e * 2 * s.I * s.H, 2 * s.I * s.H, s.H);
                rnd(const_cast<bf16*>(ex.w2) + e * s.H * s.I, s.H * s.I, s.I);
            }
        }
        if (ly.lin_qkv) {
            rnd(ly.lin_qkv, 3 * s.Wd * s.H, s.H);
            rnd(ly.lin_gate, s.Wd * s.H, s.H);
            rnd(ly.lin_out, s.H * s.Wd, s.Wd);
            kern::fill_const_bf16(ly.lin_norm, s.Wd, 1.f, nullptr);
        } else {
            rnd(ly.attn_qkv, (s.Wd + 2 * s.kvw) * s.H, s.H);
            rnd(ly.attn_o, s.H * s.Wd, s.Wd);
        }
    }
    M1_CUDA_CHECK(cudaDeviceSynchronize());
    if (stage) cudaFree(stage);
    return m;
}

}  // namespace m1
