// A loaded M1 model: its config, its memory-mapped weights checked against the tensor table, and a
// fingerprint that identifies it (states exported from one model are refused by another).
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <memory>
#include <string>
#include <vector>

#include "m1/config.h"
#include "m1/safetensors.h"
#include "m1/tensor_names.h"

namespace m1 {

struct LoadOptions {
    // Called as loading proceeds, on the loading thread: (fraction 0..1, what is being done with its
    // rate, see load_rate_text). May be empty; must not throw. Backends loading weights onto a device
    // (make_backend) report through the same callback.
    std::function<void(double, const std::string&)> progress;
    // Checked between tensors (layers on a GPU): once set, the load stops with LoadCancelled and
    // releases what it allocated. May be null.
    const std::atomic<bool>* cancel = nullptr;
    // Hash every weight byte for the fingerprint when the checkpoint is at most this large;
    // larger ones hash headers, config and sampled bytes of every shard.
    size_t full_hash_limit = size_t(512) << 20;
};

struct LoadCancelled : std::runtime_error {
    LoadCancelled() : std::runtime_error("loading the model was cancelled") {}
};

// "fingerprint: 1.2 of 4.0 GB, 3.10 GB/s, ETA 1 s": what every loader reports as its progress text.
std::string load_rate_text(const std::string& what, uint64_t done, uint64_t total, double seconds);

class Model {
public:
    // dir holds config.json and model.safetensors (or model.safetensors.index.json + shards).
    // Throws ConfigError or WeightsError; a tensor mismatch lists every missing, extra and
    // mis-shaped tensor in one message.
    static std::shared_ptr<const Model> load(const std::string& dir, const LoadOptions& opts = {});

    const ModelConfig& config() const { return config_; }
    const std::string& dir() const { return dir_; }
    const std::string& fingerprint() const { return fingerprint_; }  // "m1fp1-<16 hex>"
    const WeightStore& weights() const { return *weights_; }
    // The tensor for a role; throws WeightsError if absent (cannot happen after a successful load).
    const TensorInfo& tensor(TensorRole role, int layer = -1, int expert = -1) const;
    // Embedding row for a token id (the LM head when tied); throws std::out_of_range for id >= vocab.
    void embed_row(int32_t id, float* out) const;

private:
    ModelConfig config_;
    std::string dir_, fingerprint_;
    std::unique_ptr<WeightStore> weights_;
    std::vector<const TensorInfo*> table_;  // indexed like expected_tensors(config_)
    std::vector<size_t> layer_base_;        // first table_ index of each layer's tensors
    friend struct ModelTableAccess;
};

// Where the embedded demo model lives: env M1_DEMO_MODEL, then <exe>/../share/m1-studio/demo,
// then the source tree's resources/demo. Throws std::runtime_error if none has a config.json.
std::string demo_model_dir();
// The sentence every demo-model user prints once.
inline const char* demo_model_notice() {
    return "using the embedded demo model (tiny, random weights: its answers are meaningless)";
}

}  // namespace m1
