// CpuWeights: converts bf16/fp16/fp32 checkpoint tensors to fp32, once (cached) or per use.
#include "cpu_weights.h"

#include "thread_pool.h"

namespace m1 {

namespace {

void convert(const TensorInfo& t, std::vector<float>& dst) {
    const size_t n = size_t(t.numel()), es = dtype_size(t.dtype);
    dst.resize(n);
    float* out = dst.data();
    parallel_for(int64_t(n + 65535) / 65536, [&](int64_t b, int64_t e) {
        for (int64_t c = b; c < e; ++c) {
            size_t lo = size_t(c) * 65536, hi = std::min(n, lo + 65536);
            to_f32(t.dtype, t.data + lo * es, out + lo, hi - lo);
        }
    });
}

}  // namespace

CpuWeights::CpuWeights(std::shared_ptr<const Model> model, size_t cache_limit_bytes) : model_(std::move(model)) {
    size_t need = 0;
    for (const auto& e : expected_tensors(model_->config())) {
        const TensorInfo* t = model_->weights().find(e.name);
        need += size_t(t->numel()) * 4;
    }
    cached_ = need <= cache_limit_bytes;
    if (!cached_) return;
    for (const auto& e : expected_tensors(model_->config())) {
        const TensorInfo* t = model_->weights().find(e.name);
        convert(*t, cache_[t]);
    }
}

const float* CpuWeights::get(std::vector<float>& scratch, TensorRole role, int layer, int expert) const {
    const TensorInfo& t = model_->tensor(role, layer, expert);
    if (cached_) return cache_.at(&t).data();
    convert(t, scratch);
    return scratch.data();
}

}  // namespace m1
