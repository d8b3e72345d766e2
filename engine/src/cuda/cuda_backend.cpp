// The "cuda" backend: options, the memory planner (says before allocating what fits, and refuses with
// advice), the Backend object that owns the GPU weights, and its registration for --device cuda / cuda:N.
#include <cuda_runtime.h>

#include <cstdio>
#include <cstdlib>

#include "cuda/cuda_model.h"
#include "cuda/register.h"
#include "kernels/cuda_check.cuh"
#include "kernels/device_info.cuh"
#include "kernels/moe_block.cuh"
#include "kernels/lightning_prefill.cuh"
#include "kernels/lm_head.cuh"
#include "m1/memory_plan.h"
#ifdef M1_HAVE_NCCL
#include "nccl/tp_backend.h"  // several GPUs: the tensor-parallel backend
#endif

namespace m1 {
namespace {

std::string gb(std::size_t b) {
    char s[32];
    std::snprintf(s, sizeof s, "%.1f GB", double(b) / 1e9);
    return s;
}

int64_t env_int(const char* name, int64_t dflt) {
    const char* v = std::getenv(name);
    return v && *v ? std::strtoll(v, nullptr, 10) : dflt;
}

class CudaBackend : public Backend {
public:
    CudaBackend(std::shared_ptr<const Model> model, std::shared_ptr<CudaModel> dev)
        : model_(std::move(model)), dev_(std::move(dev)) {}
    std::string device() const override { return "cuda:" + std::to_string(dev_->device); }
    std::unique_ptr<Session> new_session() override { return new_cuda_session(dev_); }
    const Model& model() const override { return *model_; }

private:
    std::shared_ptr<const Model> model_;
    std::shared_ptr<CudaModel> dev_;
};

}  // namespace

CudaOptions CudaOptions::from_env() {
    CudaOptions o;
    const char* ex = std::getenv("M1_CUDA_EXPERTS");
    o.int8_experts = ex && std::string(ex) == "int8";
    o.context_tokens = env_int("M1_CUDA_CONTEXT", 0);
    o.max_chunk = env_int("M1_CUDA_CHUNK", o.max_chunk);
    o.cuda_graphs = env_int("M1_CUDA_GRAPHS", 1) != 0;
    return o;
}

std::string MemoryPlan::describe() const {
    return "weights " + gb(weights) + " + KV cache " + gb(kv_cache) + " + lightning states " + gb(states) +
           " + workspace " + gb(workspace) + " = " + gb(total());
}

namespace {
constexpr std::size_t kPlanMargin = std::size_t(512) << 20;  // CUDA context, fragmentation
}  // namespace

MemoryPlan plan_memory(const ModelConfig& c, const CudaOptions& o) {
    MemoryPlan p;
    const std::size_t H = c.hidden_size, I = c.intermediate_size, E = c.num_experts, V = c.vocab_size;
    const std::size_t Wd = c.lightning_width(), kvw = c.kv_width();
    const std::size_t nlin = c.num_lightning_layers(), nsm = c.num_softmax_layers(), L = c.num_layers;
    const std::size_t expert_bytes = o.int8_experts ? E * 3 * I * H + E * (2 * I + H) * 4 : E * 3 * I * H * 2;
    p.weights = V * H * 2 + V * H * (o.lm_head_f32 ? 4 : 2) + H * 2 +          // embedding, LM head, final norm
                L * (2 * H * 2 + E * H * 4 + expert_bytes) +                    // norms, fp32 router, experts
                nlin * ((3 * Wd * H + 2 * Wd * H + Wd) * 2 + c.num_heads * 4) + // lightning attention
                nsm * ((Wd + 2 * kvw) * H + H * Wd) * 2;                        // softmax attention
    const int64_t ctx = o.context_tokens > 0 ? o.context_tokens : std::min<int64_t>(c.max_position_embeddings, 32768);
    p.kv_cache = nsm * 2 * std::size_t(ctx) * kvw * 2;
    p.states = nlin * c.num_heads * c.head_dim * c.head_dim * 4;
    const std::size_t T = std::size_t(std::max<int64_t>(1, o.max_chunk));
    kern::ExpertWeights ew{int(E), int(H), int(I)};
    if (o.int8_experts) ew.q13 = reinterpret_cast<const int8_t*>(1);  // only is_int8() is read
    p.workspace = T * H * (4 + 2 + 4) + T * std::max(3 * Wd, Wd + 2 * kvw) * 4 + T * Wd * 4 + T * 3 * Wd * 2 +
                  2 * T * Wd * 2 + 256 * V * 4 + kern::moe_scratch_bytes(int(T), int(c.top_k), ew) +
                  kern::lm_head_scratch_bytes({nullptr, o.lm_head_f32 ? kern::WeightType::F32 : kern::WeightType::BF16,
                                               int(V), int(H)}, 256) +  // all-position logits: the widened tile
                  (c.head_dim == 128 ? cuda::lightning_prefill_workspace_bytes(int(T), int(c.num_heads), 64) : 0) +
                  (std::size_t(128) << 20);  // cuBLAS workspaces (main + side lanes) and slack
    return p;
}

int64_t auto_prefill_chunk(const ModelConfig& cfg, const CudaOptions& opts, std::size_t free_bytes) {
    CudaOptions o = opts;
    o.max_chunk = 1;
    const MemoryPlan base = plan_memory(cfg, o);
    const std::size_t fixed = base.weights + base.kv_cache + base.states + kPlanMargin;
    const std::size_t spare = free_bytes > fixed ? (free_bytes - fixed) / 2 : 0;
    return largest_prefill_chunk(spare, [&](int64_t chunk) {
        o.max_chunk = chunk;
        return uint64_t(plan_memory(cfg, o).workspace);
    });
}

void check_plan_fits(const ModelConfig& cfg, const CudaOptions& opts, std::size_t free_bytes, int device) {
    const MemoryPlan p = plan_memory(cfg, opts);
    const std::size_t margin = kPlanMargin;
    if (p.total() + margin <= free_bytes) return;
    std::string advice;
    if (!opts.int8_experts) {
        CudaOptions q = opts;
        q.int8_experts = true;
        const MemoryPlan pq = plan_memory(cfg, q);
        if (pq.total() + margin <= free_bytes)
            advice = "; with int8 experts (M1_CUDA_EXPERTS=int8) it needs " + gb(pq.total()) + " and fits";
    }
    if (advice.empty())
        advice = "; use more GPUs (--device cuda:0,1,...), int8 experts, a shorter context (M1_CUDA_CONTEXT) or a "
                 "smaller chunk (M1_CUDA_CHUNK)";
    throw DeviceError("the model needs " + p.describe() + " on cuda:" + std::to_string(device) + ", which has " +
                          gb(free_bytes) + " free" + advice,
                      true, false);
}

std::unique_ptr<Backend> make_cuda_backend(std::shared_ptr<const Model> model, int device, const CudaOptions& opts,
                                           const LoadOptions& load) {
    const auto devs = cuda::list_devices();
    if (devs.empty()) throw BackendUnavailable("device 'cuda': no CUDA GPU is visible to this process");
    if (device < 0 || device >= int(devs.size()))
        throw BackendUnavailable("device 'cuda:" + std::to_string(device) + "': this machine has " +
                                 std::to_string(devs.size()) + " GPU(s), numbered 0.." + std::to_string(devs.size() - 1));
    if (!model->config().postnorm)  // the kernels fuse the residual into the next norm: u is the residual
        throw BackendUnavailable("device 'cuda': the model's config has postnorm false (the residual is the "
                                 "un-normalised input); the CUDA backend implements M1's post-norm residual only");
    CudaOptions o = opts;
    o.lm_head_f32 = model->tensor(TensorRole::LmHead).dtype != DType::BF16;
    if (o.max_chunk <= 0) o.max_chunk = auto_prefill_chunk(model->config(), o, devs[std::size_t(device)].free_bytes);
    check_plan_fits(model->config(), o, devs[std::size_t(device)].free_bytes, device);
    try {
        auto dev = upload_model(*model, device, o, load);
        return std::make_unique<CudaBackend>(std::move(model), std::move(dev));
    } catch (const cuda::CudaError& e) {
        cudaGetLastError();
        throw DeviceError(std::string("loading the model onto cuda:") + std::to_string(device) + ": " + e.what(),
                          e.out_of_memory, false);
    }
}

void register_cuda_backend() {
    register_backend("cuda", [](std::shared_ptr<const Model> model, const DeviceSpec& spec, const LoadOptions& load) {
#ifdef M1_HAVE_NCCL
        if (spec.ids.size() > 1) {
            TpOptions o = TpOptions::from_env();
            if (load.progress) o.progress = load.progress;  // the caller shows it (CLI line, GUI status)
            o.cancel = load.cancel;  // each rank stops between tensors; checked again for a late cancel below
            auto b = make_tp_backend(std::move(model), spec.ids, o);
            if (load.cancel && load.cancel->load()) throw LoadCancelled();
            return b;
        }
#endif
        if (spec.ids.size() > 1)
            throw BackendUnavailable("device '" + spec.to_string() +
                                     "': the single-GPU CUDA backend takes one device; several GPUs need the "
                                     "multi-GPU backend");
        return make_cuda_backend(std::move(model), spec.ids.empty() ? 0 : spec.ids[0], CudaOptions::from_env(), load);
    });
}

}  // namespace m1
