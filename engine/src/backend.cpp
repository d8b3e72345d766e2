// Backend registry and device strings ("cpu", "cuda", "cuda:1", "cuda:0,1"), plus Session::prefill.
#include "m1/backend.h"

#include <map>
#include <mutex>
#include <stdexcept>

#if defined(M1_HAVE_CUDA) && __has_include("cuda/register.h")
#include "cuda/register.h"  // declares m1::register_cuda_backend(), defined by the CUDA backend
#define M1_REGISTER_CUDA 1
#endif

namespace m1 {
namespace {

std::mutex g_mu;
std::map<std::string, BackendFactory>& registry() {
    static std::map<std::string, BackendFactory> r;
    return r;
}

void ensure_builtin() {
    static std::once_flag once;
    std::call_once(once, [] {
#ifdef M1_REGISTER_CUDA
        register_cuda_backend();
#endif
    });
}

}  // namespace

DeviceSpec DeviceSpec::parse(const std::string& text) {
    DeviceSpec d;
    std::string t = text.empty() ? "cpu" : text;
    size_t colon = t.find(':');
    d.kind = t.substr(0, colon);
    if (d.kind.empty()) throw std::invalid_argument("device '" + text + "': missing kind (cpu, cuda, cuda:N, cuda:0,1)");
    if (colon == std::string::npos) {
        if (d.kind != "cpu") d.ids = {0};
        return d;
    }
    if (d.kind == "cpu") throw std::invalid_argument("device '" + text + "': cpu takes no device numbers");
    std::string rest = t.substr(colon + 1);
    size_t pos = 0;
    while (pos <= rest.size()) {
        size_t comma = rest.find(',', pos);
        std::string part = rest.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
        if (part.empty() || part.size() > 3 || part.find_first_not_of("0123456789") != std::string::npos)
            throw std::invalid_argument("device '" + text + "': '" + part + "' is not a device number");
        d.ids.push_back(std::stoi(part));
        if (comma == std::string::npos) break;
        pos = comma + 1;
    }
    return d;
}

std::string DeviceSpec::to_string() const {
    if (ids.empty()) return kind;
    std::string s = kind;
    for (size_t i = 0; i < ids.size(); ++i) {
        s.push_back(i ? ',' : ':');
        s.append(std::to_string(ids[i]));
    }
    return s;
}

void register_backend(const std::string& kind, BackendFactory factory) {
    std::lock_guard<std::mutex> g(g_mu);
    registry()[kind] = std::move(factory);
}

std::vector<std::string> registered_backends() {
    ensure_builtin();
    std::lock_guard<std::mutex> g(g_mu);
    std::vector<std::string> r{"cpu"};
    for (const auto& [k, f] : registry())
        if (k != "cpu") r.push_back(k);
    return r;
}

std::unique_ptr<Backend> make_backend(std::shared_ptr<const Model> model, const std::string& device,
                                      const LoadOptions& load) {
    DeviceSpec spec = DeviceSpec::parse(device);
    if (spec.kind == "cpu") return make_cpu_backend(std::move(model));
    ensure_builtin();
    BackendFactory f;
    {
        std::lock_guard<std::mutex> g(g_mu);
        auto it = registry().find(spec.kind);
        if (it != registry().end()) f = it->second;
    }
    if (!f) {
        std::string have;
        for (const auto& k : registered_backends()) {
            if (!have.empty()) have.append(", ");
            have.append(k);
        }
        throw BackendUnavailable("device '" + device + "': this build has no '" + spec.kind +
                                 "' backend (available: " + have + ")");
    }
    return f(std::move(model), spec, load);
}

bool Session::prefill(std::span<const int32_t> ids, int64_t chunk_size, const ProgressFn& progress,
                      const std::atomic<bool>* cancel, float* all_logits) {
    const int64_t n = int64_t(ids.size()), chunk = std::max<int64_t>(1, chunk_size);
    const int64_t V = config().vocab_size;
    for (int64_t done = 0; done < n;) {
        if (cancel && cancel->load()) return false;
        const int64_t m = std::min(chunk, n - done);
        forward(ids.subspan(size_t(done), size_t(m)), all_logits ? all_logits + done * V : nullptr);
        done += m;
        if (progress) progress(done, n);
    }
    return true;
}

}  // namespace m1
