// The NCCL layer on 2+ GPUs: collectives give the right sums, and every fault (a rank that never
// joins, a caller blocked outside the group, an out-of-memory GPU, an explicit abort) ends in a typed
// error within the watchdog time, frees the GPUs' memory, and a new group works in the same process.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "gpu/nccl_test_support.h"

#ifdef M1_HAVE_NCCL
#include "m1/nccl_comm.h"
#include "m1/parallel_buffer.h"

namespace m1 {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kWatchdog{2000};

::testing::Environment* const kEnv = ::testing::AddGlobalTestEnvironment(new test::NeedTwoGpus);

std::vector<int> two_gpus() { return {0, 1}; }

CommOptions options() {
    CommOptions o;
    o.devices = two_gpus();
    o.timeout = kWatchdog;
    return o;
}

uint16_t to_bf16(float f) {  // exact for the small integers used here
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return static_cast<uint16_t>(u >> 16);
}
float from_bf16(uint16_t h) {
    uint32_t u = uint32_t(h) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

void upload(const DeviceBuffer& b, const void* src, size_t n) {
    cudaSetDevice(b.device());
    ASSERT_EQ(cudaMemcpy(b.data(), src, n, cudaMemcpyHostToDevice), cudaSuccess);
}
void download(const DeviceBuffer& b, void* dst, size_t n) {
    cudaSetDevice(b.device());
    ASSERT_EQ(cudaMemcpy(dst, b.data(), n, cudaMemcpyDeviceToHost), cudaSuccess);
}

// All-reduces rank-dependent data and checks every element; the proof that a group works.
void check_all_reduce(CommGroup& g, size_t count) {
    std::vector<DeviceBuffer> bufs;
    std::vector<void*> ptrs;
    for (int r = 0; r < g.size(); ++r) {
        bufs.emplace_back(g.device(r), count * 4, "test buffer");
        std::vector<float> h(count);
        for (size_t i = 0; i < count; ++i) h[i] = float((i * 7 + r * 13) % 101) - 50.0f;
        upload(bufs.back(), h.data(), count * 4);
        ptrs.push_back(bufs.back().data());
    }
    g.all_reduce_sum(ptrs, count, CommType::f32);
    g.wait();
    std::vector<float> out(count);
    for (int r = 0; r < g.size(); ++r) {
        download(bufs[r], out.data(), count * 4);
        for (size_t i = 0; i < count; ++i) {
            float want = 0;
            for (int k = 0; k < g.size(); ++k) want += float((i * 7 + k * 13) % 101) - 50.0f;
            ASSERT_EQ(out[i], want) << "rank " << r << " element " << i;
        }
    }
}

std::vector<size_t> free_bytes() {
    std::vector<size_t> f;
    for (int d : two_gpus()) f.push_back(gpu_memory(d).free);
    return f;
}

// NCCL and the CUDA context keep some memory after the first group; measure leaks after that.
std::vector<size_t> baseline() {
    static std::vector<size_t> b = [] {
        { CommGroup g(options()); }
        return free_bytes();
    }();
    return b;
}

void expect_memory_released(const char* when) {
    auto base = baseline();
    auto now = free_bytes();
    for (size_t r = 0; r < now.size(); ++r) {
        double lost_mib = (double(base[r]) - double(now[r])) / (1 << 20);
        std::printf("[memory] %s: GPU %zu free %.1f MiB vs baseline (%+.1f MiB held)\n", when, r,
                    double(now[r]) / (1 << 20), lost_mib);
        EXPECT_LT(lost_mib, 64.0) << "GPU " << r << " kept memory " << when;
    }
}

TEST(NcclComm, AllReduceAndAllGather) {
    CommGroup g(options());
    ASSERT_EQ(g.size(), 2);
    check_all_reduce(g, 1);
    check_all_reduce(g, 6144);
    check_all_reduce(g, (size_t(1) << 20) + 3);

    // bf16 all-reduce at the model's hidden width, then an all-gather of per-rank vocab slices.
    const size_t n = 6144;
    std::vector<DeviceBuffer> bf;
    std::vector<void*> ptrs;
    for (int r = 0; r < 2; ++r) {
        std::vector<uint16_t> h(n);
        for (size_t i = 0; i < n; ++i) h[i] = to_bf16(float(int(i % 17) - 8 + r));
        bf.emplace_back(g.device(r), n * 2, "bf16 buffer");
        upload(bf.back(), h.data(), n * 2);
        ptrs.push_back(bf.back().data());
    }
    g.all_reduce_sum(ptrs, n, CommType::bf16);
    g.wait();
    std::vector<uint16_t> got(n);
    download(bf[1], got.data(), n * 2);
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(from_bf16(got[i]), float(2 * (int(i % 17) - 8) + 1)) << i;

    const size_t per = 1000;
    std::vector<DeviceBuffer> send, recv;
    std::vector<const void*> sp;
    std::vector<void*> rp;
    for (int r = 0; r < 2; ++r) {
        std::vector<float> h(per);
        for (size_t i = 0; i < per; ++i) h[i] = float(r * 100000 + int(i));
        send.emplace_back(g.device(r), per * 4, "gather send");
        recv.emplace_back(g.device(r), 2 * per * 4, "gather recv");
        upload(send.back(), h.data(), per * 4);
        sp.push_back(send.back().data());
        rp.push_back(recv.back().data());
    }
    g.all_gather(sp, rp, per, CommType::f32);
    g.wait();
    std::vector<float> all(2 * per);
    for (int r = 0; r < 2; ++r) {
        download(recv[r], all.data(), all.size() * 4);
        for (int k = 0; k < 2; ++k)
            for (size_t i = 0; i < per; ++i) ASSERT_EQ(all[k * per + i], float(k * 100000 + int(i)));
    }
}

TEST(NcclComm, StalledRankTimesOutThenRestarts) {
    baseline();
    auto t0 = Clock::now();
    {
        CommGroup g(options());
        const size_t count = size_t(8192) * 6144;  // the prefill all-reduce: 8K tokens x 6144, bf16
        std::vector<DeviceBuffer> bufs;
        std::vector<void*> ptrs;
        for (int r = 0; r < 2; ++r) {
            bufs.emplace_back(g.device(r), count * 2, "activations");
            ptrs.push_back(bufs.back().data());
        }
        set_faults({.stall_rank = 1, .oom_device = -1});
        g.all_reduce_sum(ptrs, count, CommType::bf16);
        set_faults({});
        t0 = Clock::now();
        try {
            g.wait();
            FAIL() << "a collective missing rank 1 completed";
        } catch (const CommError& e) {
            auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
            std::printf("[timeout] CommError after %lld ms: %s\n", static_cast<long long>(ms), e.what());
            EXPECT_EQ(e.kind, CommError::Kind::timeout);
            EXPECT_EQ(e.rank, 1);
            EXPECT_EQ(e.device, 1);
            EXPECT_LT(ms, kWatchdog.count() + 3000);
        }
        EXPECT_FALSE(g.healthy());
        EXPECT_THROW(g.all_reduce_sum(ptrs, 16, CommType::bf16), CommError);
    }
    expect_memory_released("after the timed-out group");
    CommGroup again(options());
    check_all_reduce(again, 6144);
}

// The tensor-parallel engine drives each GPU from its own thread: per-rank calls, in the same order.
TEST(NcclComm, PerRankThreads) {
    CommGroup g(options());
    const size_t count = 6144 * 16;
    std::vector<DeviceBuffer> bufs;
    for (int r = 0; r < 2; ++r) {
        bufs.emplace_back(g.device(r), count * 4, "activations");
        std::vector<float> h(count, float(r + 1));
        upload(bufs.back(), h.data(), count * 4);
    }
    auto run = [&](int r) {
        cudaSetDevice(g.device(r));
        for (int i = 0; i < 20; ++i) g.all_reduce_sum_rank(r, bufs[r].data(), count, CommType::f32, g.stream(r));
    };
    std::thread t0(run, 0), t1(run, 1);
    t0.join();
    t1.join();
    g.wait();
    std::vector<float> out(count);
    for (int r = 0; r < 2; ++r) {
        download(bufs[r], out.data(), count * 4);
        ASSERT_EQ(out[0], 3.0f * float(1 << 19));  // 1 + 2, then doubled by each of 19 more rounds
        ASSERT_EQ(out[count - 1], out[0]);
    }
    // A rank thread that never makes its call: the other's part times out, blaming the absent rank.
    g.all_reduce_sum_rank(0, bufs[0].data(), count, CommType::f32, g.stream(0));
    auto t_start = Clock::now();
    try {
        g.wait();
        FAIL() << "expected a CommError";
    } catch (const CommError& e) {
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t_start).count();
        std::printf("[per-rank] CommError after %lld ms: %s\n", static_cast<long long>(ms), e.what());
        EXPECT_EQ(e.kind, CommError::Kind::timeout);
        EXPECT_EQ(e.rank, 1);
        EXPECT_NE(std::string(e.what()).find("never joined"), std::string::npos);
    }
}

TEST(NcclComm, CallerBlockedOnItsStreamIsReleased) {
    CommGroup g(options());
    std::vector<DeviceBuffer> bufs;
    std::vector<void*> ptrs;
    for (int r = 0; r < 2; ++r) {
        bufs.emplace_back(g.device(r), 6144 * 2, "activations");
        ptrs.push_back(bufs.back().data());
    }
    set_faults({.stall_rank = 0, .oom_device = -1});
    g.all_reduce_sum(ptrs, 6144, CommType::bf16);
    set_faults({});
    // A backend waiting on its own stream (not through the group) must not hang either.
    auto t0 = Clock::now();
    cudaSetDevice(g.device(1));
    cudaError_t rc = cudaStreamSynchronize(g.stream(1));
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
    std::printf("[blocked] cudaStreamSynchronize returned %s after %lld ms\n", cudaGetErrorName(rc),
                static_cast<long long>(ms));
    EXPECT_LT(ms, kWatchdog.count() + 3000);
    try {
        g.wait();
        FAIL() << "expected a CommError";
    } catch (const CommError& e) {
        EXPECT_EQ(e.kind, CommError::Kind::timeout);
        EXPECT_EQ(e.rank, 0);
    }
}

TEST(NcclComm, ExplicitAbortFromAnotherThread) {
    CommOptions o = options();
    o.timeout = std::chrono::milliseconds(60'000);  // the abort, not the watchdog, must end the wait
    CommGroup g(o);
    std::vector<DeviceBuffer> bufs;
    std::vector<void*> ptrs;
    for (int r = 0; r < 2; ++r) {
        bufs.emplace_back(g.device(r), 4096, "activations");
        ptrs.push_back(bufs.back().data());
    }
    set_faults({.stall_rank = 1, .oom_device = -1});
    g.all_reduce_sum(ptrs, 1024, CommType::f32);
    set_faults({});
    auto t0 = Clock::now();
    std::thread canceller([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        g.abort("cancelled by the user");
    });
    try {
        g.wait();
        FAIL() << "expected a CommError";
    } catch (const CommError& e) {
        EXPECT_EQ(e.kind, CommError::Kind::aborted);
    }
    canceller.join();
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
    EXPECT_LT(ms, 5000);
}

// A fault found outside NCCL (a GPU-to-GPU kernel that gave up on its peer) recorded through fail(): the group
// aborts, runs its abort hooks once, and reports that error from then on.
TEST(NcclComm, FailFromOutsideRunsAbortHooksOnce) {
    int hooked = 0, late = 0;
    CommGroup g(options());
    g.on_abort([&] { ++hooked; });
    g.fail(CommError(CommError::Kind::timeout, 1, g.device(1), "test: a peer kernel timed out waiting for rank 1"));
    EXPECT_EQ(hooked, 1);
    EXPECT_FALSE(g.healthy());
    try {
        g.wait();
        FAIL() << "wait() on a failed group returned";
    } catch (const CommError& e) {
        EXPECT_EQ(e.kind, CommError::Kind::timeout);
        EXPECT_EQ(e.rank, 1);
    }
    g.abort("again");
    EXPECT_EQ(hooked, 1);
    g.on_abort([&] { ++late; });  // registered after the abort: runs at once
    EXPECT_EQ(late, 1);
}

TEST(NcclComm, OutOfMemoryOnOneGpuReleasesAll) {
    baseline();
    const size_t gib = size_t(1) << 30;
    // Injected: GPU 1 refuses; what GPU 0 already holds must be freed by unwinding.
    set_faults({.stall_rank = -1, .oom_device = 1});
    try {
        CommGroup g(options());
        FAIL() << "the group's warm-up allocation on GPU 1 should have failed";
    } catch (const GpuError& e) {
        EXPECT_EQ(e.device, 1);
        std::printf("[oom] group start: %s\n", e.what());
    }
    set_faults({});
    {
        CommGroup g(options());
        set_faults({.stall_rank = -1, .oom_device = 1});
        try {
            std::vector<DeviceBuffer> shards;
            for (int r = 0; r < 2; ++r) shards.emplace_back(g.device(r), 4 * gib, "layer 0 experts");
            FAIL() << "expected an injected out-of-memory on GPU 1";
        } catch (const GpuError& e) {
            EXPECT_EQ(e.device, 1);
            EXPECT_NE(std::string(e.what()).find("out of memory on GPU 1"), std::string::npos) << e.what();
        }
        set_faults({});
        // A real one: more than the GPU has.
        size_t total = gpu_memory(1).total;
        try {
            DeviceBuffer held(0, 2 * gib, "held weights");
            DeviceBuffer huge(1, total + gib, "too much");
            FAIL() << "allocating more than the GPU has succeeded";
        } catch (const GpuError& e) {
            EXPECT_EQ(e.device, 1);
            std::printf("[oom] real: %s\n", e.what());
        }
        check_all_reduce(g, 6144);  // the group survived the allocation failures
    }
    expect_memory_released("after the out-of-memory runs");
}

}  // namespace
}  // namespace m1

#else
TEST(NcclComm, NeedsNccl) { GTEST_SKIP() << "built without NCCL"; }
#endif
