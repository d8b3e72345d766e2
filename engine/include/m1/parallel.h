// Multi-GPU basics shared by the NCCL layer, the loaders and the CLI: typed GPU/communication
// errors, the GPU list a run uses (`--device cuda:0,1`, `--gpus N`) and fault injection for tests.
// Header-only, so CPU-only builds (the CLI's flag parsing, error handling) use it too.
#pragma once
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace m1 {

// A CUDA failure on one GPU: out of memory, a failed launch, a lost device.
struct GpuError : std::runtime_error {
    GpuError(int device_, const std::string& what_) : std::runtime_error(what_), device(device_) {}
    int device;  // CUDA ordinal, -1 when not tied to one GPU
};

// A failure of the communicators that join the GPUs: init, an NCCL error, a collective that timed out.
// After a CommError the group is aborted and its memory released; build a new one to go on.
struct CommError : GpuError {
    enum class Kind { init, nccl, timeout, aborted };
    CommError(Kind kind_, int rank_, int device_, const std::string& what_)
        : GpuError(device_, what_), kind(kind_), rank(rank_) {}
    Kind kind;
    int rank;  // the rank blamed (the one that failed or never joined), -1 when unknown
};

inline const char* to_string(CommError::Kind k) {
    switch (k) {
        case CommError::Kind::init: return "init";
        case CommError::Kind::nccl: return "nccl";
        case CommError::Kind::timeout: return "timeout";
        case CommError::Kind::aborted: return "aborted";
    }
    return "?";
}

// Tensor-parallel degrees M1 supports: N must divide 64 heads and 8 KV heads.
inline bool valid_tp_degree(int n) { return n == 1 || n == 2 || n == 4 || n == 8; }

// Which GPUs a run uses. `spec` is the --device value ("cuda", "cuda:1", "cuda:0,1"; "" = "cuda"),
// `gpus` the --gpus value (0 = not given: one GPU for "cuda", else what spec lists; N = the first N
// of spec's list or of all GPUs). `available` is the number of CUDA devices present.
// Throws std::invalid_argument with a message for the user on bad input.
inline std::vector<int> select_gpus(std::string_view spec, int gpus, int available) {
    if (spec.empty()) spec = "cuda";
    if (spec.substr(0, 4) != "cuda")
        throw std::invalid_argument("--device " + std::string(spec) + ": expected cuda, cuda:N or cuda:0,1,...");
    std::vector<int> list;
    if (spec.size() > 4) {
        if (spec[4] != ':' || spec.size() == 5)
            throw std::invalid_argument("--device " + std::string(spec) + ": expected cuda:N or cuda:0,1,...");
        std::string_view rest = spec.substr(5);
        while (!rest.empty()) {
            size_t comma = rest.find(',');
            std::string_view item = rest.substr(0, comma);
            if (item.empty() || item.size() > 3 || item.find_first_not_of("0123456789") != std::string_view::npos)
                throw std::invalid_argument("--device " + std::string(spec) + ": '" + std::string(item) +
                                            "' is not a GPU number");
            int d = std::atoi(std::string(item).c_str());
            for (int seen : list)
                if (seen == d) throw std::invalid_argument("--device " + std::string(spec) + ": GPU " +
                                                           std::to_string(d) + " is listed twice");
            list.push_back(d);
            rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
            if (comma != std::string_view::npos && rest.empty())
                throw std::invalid_argument("--device " + std::string(spec) + ": trailing comma");
        }
    }
    if (gpus < 0) throw std::invalid_argument("--gpus must be 1 or more");
    if (list.empty()) {
        int n = gpus > 0 ? gpus : 1;
        for (int d = 0; d < n; ++d) list.push_back(d);
    } else if (gpus > 0) {
        if (gpus > static_cast<int>(list.size()))
            throw std::invalid_argument("--gpus " + std::to_string(gpus) + " but --device " + std::string(spec) +
                                        " lists only " + std::to_string(list.size()));
        list.resize(gpus);
    }
    for (int d : list)
        if (d >= available)
            throw std::invalid_argument("GPU " + std::to_string(d) + " requested but this machine has " +
                                        std::to_string(available) + (available == 1 ? " GPU" : " GPUs"));
    if (!valid_tp_degree(static_cast<int>(list.size())))
        throw std::invalid_argument(std::to_string(list.size()) +
                                    " GPUs requested: M1 splits its 64 heads and 8 KV heads over 1, 2, 4 or 8 GPUs");
    return list;
}

// Fault injection for tests and for reproducing field reports. Read once from the environment
// (M1_FAULT_NCCL_STALL_RANK=r, M1_FAULT_OOM_DEVICE=d); tests override with set_faults().
struct FaultPlan {
    int stall_rank = -1;   // this rank never joins collectives: the others wait until the watchdog fires
    int oom_device = -1;   // every multi-GPU allocation on this CUDA device fails as out of memory
};
namespace detail {
inline int env_int(const char* name) {
    const char* v = std::getenv(name);
    return v && *v ? std::atoi(v) : -1;
}
struct FaultState {
    std::mutex mu;
    FaultPlan plan{env_int("M1_FAULT_NCCL_STALL_RANK"), env_int("M1_FAULT_OOM_DEVICE")};
};
inline FaultState& fault_state() {
    static FaultState s;
    return s;
}
}  // namespace detail

inline FaultPlan faults() {
    auto& s = detail::fault_state();
    std::lock_guard lock(s.mu);
    return s.plan;
}
inline void set_faults(const FaultPlan& plan) {
    auto& s = detail::fault_state();
    std::lock_guard lock(s.mu);
    s.plan = plan;
}

}  // namespace m1
