// All-reduce bandwidth through the engine's NCCL layer (CommGroup, non-blocking communicators, watchdog
// events) at the sizes M1 uses, beside the GPUs' peer-copy bandwidth measured in the same run.
// Validates the sum first, then times K back-to-back collectives (median of repeats). Then the decode-sized
// all-reduces of captured decode steps (GPU to GPU, engine/src/nccl/tp_peer.h): K back to back from this thread
// and K captured in one CUDA graph per GPU, per collective, beside NCCL's at the same size.
//   algbw = bytes / time;  busbw = algbw * 2 (n - 1) / n  (the per-link traffic of a ring all-reduce)
// usage: allreduce_bench [--gpus N] [--json FILE]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#ifdef M1_HAVE_NCCL
#include <cuda_runtime.h>

#include "engine/src/nccl/tp_peer.h"
#include "m1/nccl_comm.h"
#include "m1/parallel_buffer.h"

using namespace m1;

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

struct Size {
    const char* what;
    size_t count;
    CommType type;
};

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

// One direction GPU a -> GPU b, cudaMemcpyPeerAsync of `bytes` (peer access enabled when possible).
double peer_gbps(int a, int b, size_t bytes, bool both_ways) {
    DeviceBuffer src(a, bytes, "peer src"), dst(b, bytes, "peer dst"), src2(b, bytes, "peer src"), dst2(a, bytes, "peer dst");
    cudaSetDevice(a);
    cudaDeviceEnablePeerAccess(b, 0);
    cudaSetDevice(b);
    cudaDeviceEnablePeerAccess(a, 0);
    cudaGetLastError();
    cudaStream_t s1, s2;
    cudaSetDevice(a);
    cudaStreamCreate(&s1);
    cudaSetDevice(b);
    cudaStreamCreate(&s2);
    std::vector<double> t;
    for (int rep = 0; rep < 7; ++rep) {
        double t0 = now();
        for (int i = 0; i < 5; ++i) {
            cudaMemcpyPeerAsync(dst.data(), b, src.data(), a, bytes, s1);
            if (both_ways) cudaMemcpyPeerAsync(dst2.data(), a, src2.data(), b, bytes, s2);
        }
        cudaStreamSynchronize(s1);
        cudaStreamSynchronize(s2);
        if (rep > 0) t.push_back((now() - t0) / 5);
    }
    cudaStreamDestroy(s1);
    cudaStreamDestroy(s2);
    return double(bytes) * (both_ways ? 2 : 1) / median(t) / 1e9;
}

// Microseconds per decode-sized peer all-reduce of n floats: {launched one by one, replayed from a graph}.
std::pair<double, double> peer_us(PeerExchange& px, const std::vector<DeviceBuffer>& bufs, size_t n) {
    const int gpus = int(bufs.size()), K = 200;
    std::vector<cudaStream_t> st(static_cast<size_t>(gpus));
    std::vector<cudaGraphExec_t> exec(static_cast<size_t>(gpus));
    for (int r = 0; r < gpus; ++r) {
        cudaSetDevice(r);
        cudaStreamCreateWithFlags(&st[size_t(r)], cudaStreamNonBlocking);
    }
    auto eager = [&] {
        for (int i = 0; i < K; ++i)
            for (int r = 0; r < gpus; ++r) {
                cudaSetDevice(r);
                px.all_reduce(r, bufs[size_t(r)].as<float>(), n, st[size_t(r)]);
            }
    };
    auto sync = [&] {
        for (int r = 0; r < gpus; ++r) {
            cudaSetDevice(r);
            cudaStreamSynchronize(st[size_t(r)]);
        }
    };
    for (int r = 0; r < gpus; ++r) {
        cudaSetDevice(r);
        cudaGraph_t g = nullptr;
        cudaStreamBeginCapture(st[size_t(r)], cudaStreamCaptureModeThreadLocal);
        for (int i = 0; i < K; ++i) px.all_reduce(r, bufs[size_t(r)].as<float>(), n, st[size_t(r)]);
        cudaStreamEndCapture(st[size_t(r)], &g);
        cudaGraphInstantiate(&exec[size_t(r)], g, 0);
        cudaGraphDestroy(g);
    }
    auto replay = [&] {
        for (int r = 0; r < gpus; ++r) {
            cudaSetDevice(r);
            cudaGraphLaunch(exec[size_t(r)], st[size_t(r)]);
        }
    };
    std::pair<double, double> us;
    for (int mode = 0; mode < 2; ++mode) {
        std::vector<double> t;
        for (int rep = 0; rep < 8; ++rep) {
            const double t0 = now();
            if (mode) replay(); else eager();
            sync();
            if (rep) t.push_back((now() - t0) / K * 1e6);  // the first: warm-up
        }
        (mode ? us.second : us.first) = median(t);
    }
    for (int r = 0; r < gpus; ++r) {
        cudaSetDevice(r);
        cudaGraphExecDestroy(exec[size_t(r)]);
        cudaStreamDestroy(st[size_t(r)]);
    }
    return us;
}

}  // namespace

int main(int argc, char** argv) {
    int gpus = 0;
    std::string json_path;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--gpus" && i + 1 < argc) gpus = std::atoi(argv[++i]);
        else if (a == "--json" && i + 1 < argc) json_path = argv[++i];
        else {
            std::fprintf(stderr, "usage: allreduce_bench [--gpus N] [--json FILE]\n");
            return 2;
        }
    }
    int count = 0;
    cudaGetDeviceCount(&count);
    if (gpus == 0) gpus = count;
    if (gpus < 2 || gpus > count) {
        std::printf("SKIP: needs 2 or more GPUs (%d here)\n", count);
        return 0;
    }
    CommOptions o;
    for (int d = 0; d < gpus; ++d) o.devices.push_back(d);
    CommGroup g(o);
    cudaDeviceProp p{};
    cudaGetDeviceProperties(&p, 0);
    const char* blocking = std::getenv("M1_NCCL_BLOCKING");
    std::printf("%d x %s, NCCL %s, NCCL_NVLS_ENABLE=%s, %s communicators\n", gpus, p.name, nccl_version().c_str(),
                std::getenv("NCCL_NVLS_ENABLE") ? std::getenv("NCCL_NVLS_ENABLE") : "(unset)",
                blocking && std::atoi(blocking) ? "blocking" : "non-blocking");

    const std::vector<Size> sizes = {
        {"decode: 1 x 6144 bf16", 6144, CommType::bf16},
        {"decode: 1 x 6144 fp32 (engine)", 6144, CommType::f32},
        {"lightning norm sums: 4096 fp32", 4096, CommType::f32},
        {"prefill: 4096 x 6144 fp32 (engine)", size_t(4096) * 6144, CommType::f32},
        {"prefill: 8192 x 6144 bf16", size_t(8192) * 6144, CommType::bf16},
        {"prefill: 8192 x 6144 fp32", size_t(8192) * 6144, CommType::f32},
        {"sweep: 1 MiB fp32", size_t(1) << 18, CommType::f32},
        {"sweep: 16 MiB fp32", size_t(1) << 22, CommType::f32},
        {"sweep: 256 MiB fp32", size_t(1) << 26, CommType::f32},
        {"sweep: 1 GiB fp32", size_t(1) << 28, CommType::f32},
    };
    size_t max_bytes = 0;
    for (auto& s : sizes) max_bytes = std::max(max_bytes, s.count * comm_type_size(s.type));
    std::vector<DeviceBuffer> bufs;
    std::vector<void*> ptrs;
    for (int r = 0; r < gpus; ++r) {
        bufs.emplace_back(r, max_bytes, "all-reduce buffer");
        ptrs.push_back(bufs.back().data());
    }
    // Validation: each rank holds r + 1 everywhere (fp32); the sum is n(n+1)/2.
    {
        const size_t n = size_t(1) << 20;
        for (int r = 0; r < gpus; ++r) {
            std::vector<float> h(n, float(r + 1));
            cudaSetDevice(r);
            cudaMemcpy(ptrs[r], h.data(), n * 4, cudaMemcpyHostToDevice);
        }
        g.all_reduce_sum(ptrs, n, CommType::f32);
        g.wait();
        std::vector<float> h(n);
        cudaSetDevice(gpus - 1);
        cudaMemcpy(h.data(), ptrs[gpus - 1], n * 4, cudaMemcpyDeviceToHost);
        const float want = float(gpus * (gpus + 1) / 2);
        for (float x : h)
            if (x != want) {
                std::printf("VALIDATION FAILED: got %g, want %g\n", double(x), double(want));
                return 1;
            }
        std::printf("validation: all-reduce sum correct on %zu elements\n", n);
    }
    const double peer1 = peer_gbps(0, 1, size_t(1) << 30, false), peer2 = peer_gbps(0, 1, size_t(1) << 30, true);
    std::printf("peer copy GPU0->GPU1 (1 GiB): %.1f GB/s one way, %.1f GB/s both ways together\n", peer1, peer2);

    std::printf("\n%-36s %12s %10s %12s %12s\n", "size", "bytes", "time us", "algbw GB/s", "busbw GB/s");
    std::string json = "{\"gpus\": " + std::to_string(gpus) + ", \"gpu\": \"" + p.name + "\", \"nccl\": \"" + nccl_version() +
                       "\", \"peer_one_way_gbps\": " + std::to_string(peer1) + ", \"peer_both_ways_gbps\": " +
                       std::to_string(peer2) + ", \"sizes\": [";
    for (size_t k = 0; k < sizes.size(); ++k) {
        const Size& s = sizes[k];
        const size_t bytes = s.count * comm_type_size(s.type);
        const int iters = bytes < (size_t(1) << 20) ? 200 : bytes < (size_t(64) << 20) ? 50 : 10;
        for (int i = 0; i < 5; ++i) g.all_reduce_sum(ptrs, s.count, s.type);
        g.wait();
        std::vector<double> t;
        for (int rep = 0; rep < 7; ++rep) {
            double t0 = now();
            for (int i = 0; i < iters; ++i) g.all_reduce_sum(ptrs, s.count, s.type);
            g.wait();
            t.push_back((now() - t0) / iters);
        }
        const double sec = median(t), alg = double(bytes) / sec / 1e9, bus = alg * 2.0 * (gpus - 1) / gpus;
        std::printf("%-36s %12zu %10.1f %12.1f %12.1f\n", s.what, bytes, sec * 1e6, alg, bus);
        json += std::string(k ? ", " : "") + "{\"what\": \"" + s.what + "\", \"bytes\": " + std::to_string(bytes) +
                ", \"us\": " + std::to_string(sec * 1e6) + ", \"busbw_gbps\": " + std::to_string(bus) + "}";
    }
    json += "], \"peer\": [";
    // Decode-sized collectives of captured steps, GPU to GPU.
    if (auto px = PeerExchange::create(o.devices, 6144, std::chrono::seconds(10))) {
        std::printf("\n%-36s %14s %14s\n", "GPU-to-GPU all-reduce (decode graphs)", "launched us", "in a graph us");
        const size_t peer_sizes[] = {1, 4096, 6144};
        for (size_t k = 0; k < 3; ++k) {
            const auto [eager_us, graph_us] = peer_us(*px, bufs, peer_sizes[k]);
            std::printf("%-36s %14.1f %14.1f\n", (std::to_string(peer_sizes[k]) + " fp32").c_str(), eager_us, graph_us);
            json += std::string(k ? ", " : "") + "{\"floats\": " + std::to_string(peer_sizes[k]) + ", \"launched_us\": " +
                    std::to_string(eager_us) + ", \"graph_us\": " + std::to_string(graph_us) + "}";
        }
        std::printf("%s\n", px->blamed() < 0 ? "peer: no timeouts" : "peer: A KERNEL TIMED OUT");
    } else {
        std::printf("\nGPU-to-GPU all-reduce: the GPUs cannot reach each other's memory\n");
    }
    json += "]}\n";
    std::printf("\nbusbw = bytes/time * 2(n-1)/n; H200 NVLink 4 peak: 450 GB/s per direction (18 links x 25 GB/s)\n");
    if (!json_path.empty()) std::ofstream(json_path) << json;
    return 0;
}

#else
int main() {
    std::printf("SKIP: built without NCCL\n");
    return 0;
}
#endif
