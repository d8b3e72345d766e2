// fp32 views of a model's weights for the CPU backend: converted once and cached when the fp32 copy
// fits the cache budget (small models), otherwise converted per use into a scratch buffer.
#pragma once
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "m1/model.h"

namespace m1 {

class CpuWeights {
public:
    CpuWeights(std::shared_ptr<const Model> model, size_t cache_limit_bytes);
    // fp32 data of a tensor. Cached: a pointer into the shared cache (read-only, thread-safe).
    // Not cached: converted into `scratch` (the caller's), valid until scratch is reused.
    const float* get(std::vector<float>& scratch, TensorRole role, int layer = -1, int expert = -1) const;
    bool cached() const { return cached_; }
    const Model& model() const { return *model_; }

private:
    std::shared_ptr<const Model> model_;
    bool cached_ = false;
    std::unordered_map<const TensorInfo*, std::vector<float>> cache_;
};

}  // namespace m1
