// --device and --gpus: one definition and one parser for every command that runs or plans a model, so
// the help and the errors read the same everywhere. The rule itself is a pure function of the flags and
// the machine (tests check every error path without a GPU).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cli.h"

namespace m1::cli {

inline constexpr const char* kDeviceUsage = "[--device cpu|cuda|cuda:N|cuda:0,1] [--gpus N]";
// flags + --device and --gpus with their help lines.
std::vector<Flag> with_device_flags(std::vector<Flag> flags);

struct DeviceFlags {
    std::optional<std::string> device;  // --device as given
    std::optional<int64_t> gpus;        // --gpus as given
};
struct Machine {
    bool cuda_built = false;  // this build has the CUDA backend
    int gpus = 0;             // CUDA devices visible to the process
};
// "cpu", "cuda:0", "cuda:0,1": --gpus N takes the first N GPUs of --device's list (or of the machine) and
// implies CUDA. Throws UsageError (exit 2) for a bad spelling, a GPU count M1 cannot split its heads over
// (1, 2, 4, 8), --device cpu with --gpus, and, when require_present, a CPU-only build or GPUs the machine
// does not have (`m1 info` plans for GPUs that need not be here).
std::string resolve_device_flags(const DeviceFlags& flags, const Machine& machine, bool require_present);

// The same for parsed arguments on this machine.
std::string device_arg(const Args& args, bool require_present = true);

}  // namespace m1::cli
