// --device / --gpus: see device_args.h.
#include "device_args.h"

#include <algorithm>

#include "m1/backend.h"
#include "m1/memory_plan.h"
#include "m1/parallel.h"

namespace m1::cli {

std::vector<Flag> with_device_flags(std::vector<Flag> flags) {
    flags.push_back({"device", true, "cpu (default), cuda (= cuda:0), cuda:N, or several GPUs: cuda:0,1"});
    flags.push_back({"gpus", true, "tensor parallel over the first N GPUs (of --device's list): 1, 2, 4 or 8"});
    return flags;
}

std::string resolve_device_flags(const DeviceFlags& f, const Machine& m, bool require_present) {
    const std::string device = f.device.value_or("cpu");
    const int64_t gpus = f.gpus.value_or(0);
    // The flags as the person typed them, to name them in messages.
    const std::string given = (f.device ? "--device " + device : std::string()) + (f.device && f.gpus ? " " : "") +
                              (f.gpus ? "--gpus " + std::to_string(gpus) : std::string());
    if (f.gpus && gpus < 1) throw UsageError("--gpus must be 1, 2, 4 or 8");
    if (device == "cpu") {
        if (!f.gpus) return "cpu";
        if (f.device) throw UsageError(given + ": --device cpu runs on no GPU; give one of the two");
    } else if (device.rfind("cuda", 0) != 0) {
        throw UsageError("--device " + device + ": expected cpu, cuda, cuda:N or cuda:0,1,...");
    }
    const std::string spec = device == "cpu" ? "cuda" : device;
    std::vector<int> list;
    try {  // spelling and GPU count first, so they read the same on every machine
        list = select_gpus(spec, int(std::min<int64_t>(gpus, 1 << 20)), 1 << 20);
    } catch (const std::invalid_argument& e) {
        throw UsageError(e.what());
    }
    if (require_present) {
        if (!m.cuda_built)
            throw UsageError(given + ": this build of m1 has no CUDA support (`m1 version` shows its options); "
                                     "use --device cpu");
        if (m.gpus == 0) throw UsageError(given + ": no CUDA GPU is visible to this process");
        const std::string have = "this machine has " + std::to_string(m.gpus) + (m.gpus == 1 ? " GPU" : " GPUs");
        if (!f.device || spec == "cuda") {
            if (int(list.size()) > m.gpus) throw UsageError(given + ": " + have);
        }
        for (int d : list)
            if (d >= m.gpus)
                throw UsageError("--device " + spec + ": GPU " + std::to_string(d) + " does not exist; " + have +
                                 ", numbered 0.." + std::to_string(m.gpus - 1));
    }
    std::string out = "cuda:";
    for (size_t i = 0; i < list.size(); ++i) {
        if (i) out += ',';
        out += std::to_string(list[i]);
    }
    return out;
}

std::string device_arg(const Args& args, bool require_present) {
    DeviceFlags f;
    if (args.has("device")) f.device = args.get("device");
    if (args.has("gpus")) f.gpus = args.get_int("gpus", 0);
    Machine m;
    const auto kinds = registered_backends();
    m.cuda_built = std::find(kinds.begin(), kinds.end(), "cuda") != kinds.end();
    m.gpus = m.cuda_built ? present_gpus().count : 0;
    return resolve_device_flags(f, m, require_present);
}

}  // namespace m1::cli
