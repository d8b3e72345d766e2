// Backends run the forward pass on a device: "cpu" (the numerical reference, always present) and
// others that register themselves ("cuda"). A backend holds the weights on its device and makes
// sessions that share them.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "m1/model.h"
#include "m1/session.h"

namespace m1 {

// "cpu", "cuda" (= cuda:0), "cuda:1", "cuda:0,1". Throws std::invalid_argument for bad syntax.
struct DeviceSpec {
    std::string kind;      // "cpu", "cuda"
    std::vector<int> ids;  // device ordinals; empty for cpu
    static DeviceSpec parse(const std::string& text);
    std::string to_string() const;
};

class Backend {
public:
    virtual ~Backend() = default;
    virtual std::string device() const = 0;
    virtual std::unique_ptr<Session> new_session() = 0;
    virtual const Model& model() const = 0;
};

struct BackendUnavailable : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// load: progress and cancel while the backend puts the weights on its device (see LoadOptions).
using BackendFactory =
    std::function<std::unique_ptr<Backend>(std::shared_ptr<const Model>, const DeviceSpec&, const LoadOptions& load)>;
// Registers a backend kind ("cuda"). A later registration of the same kind replaces the earlier.
void register_backend(const std::string& kind, BackendFactory factory);
std::vector<std::string> registered_backends();  // always contains "cpu"
// Makes the backend named by device ("cpu" when empty). Throws BackendUnavailable with the kinds
// this build has when the kind is not registered.
std::unique_ptr<Backend> make_backend(std::shared_ptr<const Model> model, const std::string& device = "cpu",
                                      const LoadOptions& load = {});

// The CPU backend directly. threads = 0: all hardware threads.
std::unique_ptr<Backend> make_cpu_backend(std::shared_ptr<const Model> model, int threads = 0);
// Threads of the CPU backend (its own loops and the BLAS); 0 = all hardware threads.
void set_cpu_threads(int n);
int cpu_threads();
const char* cpu_gemm_name();  // "OpenBLAS" or "built-in"

}  // namespace m1
