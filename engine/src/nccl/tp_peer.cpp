// PeerExchange: peer access between every pair of GPUs, each rank's inbox, flags and epoch counters (zeroed
// once; the epochs then only count up), and the fault words in pinned host memory that every GPU can read.
#include "nccl/tp_peer.h"

#include <algorithm>
#include <string>

#include "m1/parallel_buffer.h"

namespace m1 {

namespace {
struct KeepCurrentDevice {  // this code switches GPUs; the caller's stays current
    int prev = 0;
    KeepCurrentDevice() { cudaGetDevice(&prev); }
    ~KeepCurrentDevice() { cudaSetDevice(prev); }
};
}  // namespace

std::shared_ptr<PeerExchange> PeerExchange::create(const std::vector<int>& devices, std::size_t max_floats,
                                                   std::chrono::milliseconds timeout) {
    const int n = int(devices.size());
    if (n < 1 || n > kern::kPeerMaxRanks) return nullptr;
    KeepCurrentDevice keep;
    for (int a = 0; a < n; ++a)
        for (int b = 0; b < n; ++b) {
            int ok = 0;
            if (a != b && (cudaDeviceCanAccessPeer(&ok, devices[a], devices[b]) != cudaSuccess || !ok)) {
                cudaGetLastError();
                return nullptr;
            }
        }
    for (int a = 0; a < n; ++a) {
        check_cuda(cudaSetDevice(devices[a]), devices[a], "selecting the GPU");
        for (int b = 0; b < n; ++b) {
            if (a == b) continue;
            cudaError_t rc = cudaDeviceEnablePeerAccess(devices[b], 0);
            if (rc == cudaErrorPeerAccessAlreadyEnabled) {  // NCCL or an earlier engine did it: fine
                cudaGetLastError();
                rc = cudaSuccess;
            }
            check_cuda(rc, devices[a], "enabling peer access");
        }
    }
    std::shared_ptr<PeerExchange> p(new PeerExchange());
    p->devices_ = devices;
    p->mem_.assign(std::size_t(n), nullptr);
    const int segs = int((std::max<std::size_t>(max_floats, 1) + kern::kPeerSegment - 1) / kern::kPeerSegment);
    const std::size_t cap = std::size_t(segs) * kern::kPeerSegment;
    const std::size_t inbox = 2 * std::size_t(n) * cap * 4, flags = std::size_t(n) * segs * 4, epochs = std::size_t(segs) * 4;
    void* host = nullptr;
    check_cuda(cudaHostAlloc(&host, sizeof(kern::PeerFault), cudaHostAllocMapped | cudaHostAllocPortable), devices[0],
               "pinning the peer fault words");
    p->fault_ = static_cast<kern::PeerFault*>(host);
    *p->fault_ = kern::PeerFault{0, -1, 0, 0};
    void* dev_fault = nullptr;
    check_cuda(cudaHostGetDevicePointer(&dev_fault, host, 0), devices[0], "mapping the peer fault words");
    for (int r = 0; r < n; ++r) {
        const int d = devices[std::size_t(r)];
        check_cuda(cudaSetDevice(d), d, "selecting the GPU");
        if (faults().oom_device == d) throw GpuError(d, "out of memory on GPU " + std::to_string(d) +
                                                            " for the peer inboxes [injected by M1_FAULT_OOM_DEVICE]");
        check_cuda(cudaMalloc(&p->mem_[std::size_t(r)], inbox + flags + epochs), d, "allocating the peer inboxes");
        check_cuda(cudaMemset(p->mem_[std::size_t(r)], 0, inbox + flags + epochs), d, "zeroing the peer inboxes");
        check_cuda(cudaDeviceSynchronize(), d, "zeroing the peer inboxes");
    }
    for (int r = 0; r < n; ++r) {
        kern::PeerLinks l;
        l.rank = r;
        l.ranks = n;
        l.segments = segs;
        for (int q = 0; q < n; ++q) {
            auto* base = static_cast<char*>(p->mem_[std::size_t(q)]);
            l.inbox[q] = reinterpret_cast<float*>(base);
            l.flags[q] = reinterpret_cast<unsigned*>(base + inbox);
        }
        l.epochs = reinterpret_cast<unsigned*>(static_cast<char*>(p->mem_[std::size_t(r)]) + inbox + flags);
        l.fault = static_cast<kern::PeerFault*>(dev_fault);
        l.timeout_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count();
        p->links_.push_back(l);
    }
    return p;
}

PeerExchange::~PeerExchange() {
    KeepCurrentDevice keep;
    for (std::size_t r = 0; r < mem_.size(); ++r)
        if (mem_[r]) {
            cudaSetDevice(devices_[r]);
            cudaFree(mem_[r]);
        }
    if (fault_) cudaFreeHost(fault_);
}

void PeerExchange::all_reduce(int rank, float* buf, std::size_t n, cudaStream_t stream) const {
    kern::peer_all_reduce(links_.at(std::size_t(rank)), buf, n, stream);
}

void PeerExchange::all_gather(int rank, const float* in, float* out, std::size_t n, cudaStream_t stream) const {
    kern::peer_all_gather(links_.at(std::size_t(rank)), in, out, n, stream);
}

// The words are read by running kernels: plain volatile stores, no CUDA call (the abort comes from the watchdog).
void PeerExchange::abort() { static_cast<volatile kern::PeerFault*>(fault_)->abort = 1; }
void PeerExchange::set_stall(int rank) { static_cast<volatile kern::PeerFault*>(fault_)->stall = rank; }
int PeerExchange::blamed() const { return static_cast<volatile const kern::PeerFault*>(fault_)->blamed - 1; }
bool PeerExchange::aborted() const { return static_cast<volatile const kern::PeerFault*>(fault_)->abort != 0; }

}  // namespace m1
