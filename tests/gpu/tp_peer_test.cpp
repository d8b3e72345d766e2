// The GPU-to-GPU collectives of captured multi-GPU decode steps (engine/src/nccl/tp_peer.h) on 2 GPUs: sums and
// gathers exact at the sizes decode uses (one value, one hidden row, one row of the LM head's slice), round after
// round; replayed from CUDA graphs; a rank that never joins makes the other give up within the timeout and name
// it, later kernels give up at once, an abort from the host releases a waiting kernel, and a new exchange works.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "gpu/nccl_test_support.h"

#ifdef M1_HAVE_NCCL
#include "engine/src/nccl/tp_peer.h"
#include "m1/parallel_buffer.h"

namespace m1 {
namespace {

::testing::Environment* const kEnv = ::testing::AddGlobalTestEnvironment(new test::NeedTwoGpus);
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

// Quarter-integers: every sum here is exact in fp32, so results compare with ==.
float value(std::size_t i, int rank, int round) { return float(int((i * 7 + rank * 13 + round * 5) % 101) - 50) * 0.25f; }

struct Streams {  // one per GPU
    cudaStream_t s[2] = {nullptr, nullptr};
    Streams() {
        for (int d = 0; d < 2; ++d) {
            cudaSetDevice(d);
            cudaStreamCreateWithFlags(&s[d], cudaStreamNonBlocking);
        }
    }
    ~Streams() {
        for (int d = 0; d < 2; ++d) {
            cudaSetDevice(d);
            cudaStreamDestroy(s[d]);
        }
    }
    void sync() {
        for (int d = 0; d < 2; ++d) {
            cudaSetDevice(d);
            ASSERT_EQ(cudaStreamSynchronize(s[d]), cudaSuccess);
        }
    }
};

void upload(const DeviceBuffer& b, const std::vector<float>& h) {
    cudaSetDevice(b.device());
    ASSERT_EQ(cudaMemcpy(b.data(), h.data(), h.size() * 4, cudaMemcpyHostToDevice), cudaSuccess);
}
std::vector<float> download(const DeviceBuffer& b, std::size_t n) {
    std::vector<float> h(n);
    cudaSetDevice(b.device());
    EXPECT_EQ(cudaMemcpy(h.data(), b.data(), n * 4, cudaMemcpyDeviceToHost), cudaSuccess);
    return h;
}

TEST(TpPeer, SumsAndGathersExactlyRoundAfterRound) {
    auto px = PeerExchange::create({0, 1}, 100032, std::chrono::milliseconds(5000));
    ASSERT_TRUE(px) << "GPUs 0 and 1 cannot reach each other's memory";
    EXPECT_GE(px->capacity(), 100032u);
    Streams st;
    for (std::size_t n : {std::size_t(1), std::size_t(6144), std::size_t(100032)}) {
        std::vector<DeviceBuffer> sum, in, all;
        for (int r = 0; r < 2; ++r) {
            sum.emplace_back(r, n * 4, "test");
            in.emplace_back(r, n * 4, "test");
            all.emplace_back(r, 2 * n * 4, "test");
        }
        for (int round = 0; round < 12; ++round) {
            for (int r = 0; r < 2; ++r) {
                std::vector<float> h(n);
                for (std::size_t i = 0; i < n; ++i) h[i] = value(i, r, round);
                upload(sum[std::size_t(r)], h);
                upload(in[std::size_t(r)], h);
            }
            for (int r = 0; r < 2; ++r) {  // both ranks' kernels queued from this one thread
                cudaSetDevice(r);
                px->all_reduce(r, sum[std::size_t(r)].as<float>(), n, st.s[r]);
                px->all_gather(r, in[std::size_t(r)].as<float>(), all[std::size_t(r)].as<float>(), n, st.s[r]);
            }
            st.sync();
            for (int r = 0; r < 2; ++r) {
                const auto s = download(sum[std::size_t(r)], n), a = download(all[std::size_t(r)], 2 * n);
                for (std::size_t i = 0; i < n; ++i) {
                    ASSERT_EQ(s[i], value(i, 0, round) + value(i, 1, round)) << "n " << n << " rank " << r << " i " << i;
                    ASSERT_EQ(a[i], value(i, 0, round)) << "gather n " << n << " rank " << r << " i " << i;
                    ASSERT_EQ(a[n + i], value(i, 1, round)) << "gather n " << n << " rank " << r << " i " << i;
                }
            }
        }
    }
    EXPECT_EQ(px->blamed(), -1);
    EXPECT_FALSE(px->aborted());
}

// Each rank's graph: copy the input in from pinned memory, all-reduce twice (the second sums two equal sums), copy
// out. Replayed with new inputs, it finds its epochs on the device each time.
TEST(TpPeer, ReplaysFromCudaGraphs) {
    constexpr std::size_t n = 6144;
    auto px = PeerExchange::create({0, 1}, n, std::chrono::milliseconds(5000));
    ASSERT_TRUE(px);
    Streams st;
    std::vector<DeviceBuffer> buf;
    float* host_in[2] = {nullptr, nullptr};
    float* host_out[2] = {nullptr, nullptr};
    cudaGraphExec_t exec[2] = {nullptr, nullptr};
    for (int r = 0; r < 2; ++r) {
        buf.emplace_back(r, n * 4, "test");
        cudaSetDevice(r);
        ASSERT_EQ(cudaMallocHost(&host_in[r], n * 4), cudaSuccess);
        ASSERT_EQ(cudaMallocHost(&host_out[r], n * 4), cudaSuccess);
        cudaGraph_t g = nullptr;
        ASSERT_EQ(cudaStreamBeginCapture(st.s[r], cudaStreamCaptureModeThreadLocal), cudaSuccess);
        cudaMemcpyAsync(buf.back().data(), host_in[r], n * 4, cudaMemcpyHostToDevice, st.s[r]);
        px->all_reduce(r, buf.back().as<float>(), n, st.s[r]);
        px->all_reduce(r, buf.back().as<float>(), n, st.s[r]);
        cudaMemcpyAsync(host_out[r], buf.back().data(), n * 4, cudaMemcpyDeviceToHost, st.s[r]);
        ASSERT_EQ(cudaStreamEndCapture(st.s[r], &g), cudaSuccess);
        ASSERT_EQ(cudaGraphInstantiate(&exec[r], g, 0), cudaSuccess);
        cudaGraphDestroy(g);
    }
    for (int round = 0; round < 40; ++round) {
        for (int r = 0; r < 2; ++r)
            for (std::size_t i = 0; i < n; ++i) host_in[r][i] = value(i, r, round);
        for (int r = 0; r < 2; ++r) {
            cudaSetDevice(r);
            ASSERT_EQ(cudaGraphLaunch(exec[r], st.s[r]), cudaSuccess);
        }
        st.sync();
        for (int r = 0; r < 2; ++r)
            for (std::size_t i = 0; i < n; ++i)
                ASSERT_EQ(host_out[r][i], 2 * (value(i, 0, round) + value(i, 1, round))) << "round " << round << " rank " << r;
    }
    for (int r = 0; r < 2; ++r) {
        cudaSetDevice(r);
        cudaGraphExecDestroy(exec[r]);
        cudaFreeHost(host_in[r]);
        cudaFreeHost(host_out[r]);
    }
}

TEST(TpPeer, StalledRankIsBlamedAndAbortReleasesWaiters) {
    constexpr std::size_t n = 6144;
    Streams st;
    std::vector<DeviceBuffer> buf;
    for (int r = 0; r < 2; ++r) buf.emplace_back(r, n * 4, "test");
    auto both = [&](PeerExchange& px) {
        for (int r = 0; r < 2; ++r) {
            cudaSetDevice(r);
            px.all_reduce(r, buf[std::size_t(r)].as<float>(), n, st.s[r]);
        }
    };
    {
        auto px = PeerExchange::create({0, 1}, n, std::chrono::milliseconds(500));
        ASSERT_TRUE(px);
        px->set_stall(1);  // rank 1 never joins: rank 0 gives up after 500 ms and names it
        auto t0 = Clock::now();
        both(*px);
        st.sync();
        const double ms = ms_since(t0);
        std::printf("[tp peer] stalled rank: blamed %d after %.0f ms\n", px->blamed(), ms);
        EXPECT_EQ(px->blamed(), 1);
        EXPECT_TRUE(px->aborted());
        EXPECT_GT(ms, 400);
        EXPECT_LT(ms, 3000);
        px->set_stall(-1);  // later kernels give up at once: the exchange is aborted
        t0 = Clock::now();
        for (int i = 0; i < 20; ++i) both(*px);
        st.sync();
        EXPECT_LT(ms_since(t0), 200);
    }
    {
        auto px = PeerExchange::create({0, 1}, n, std::chrono::milliseconds(60000));
        ASSERT_TRUE(px);
        px->set_stall(1);
        auto t0 = Clock::now();
        both(*px);
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        px->abort();  // what the watchdog does when the communicators abort
        st.sync();
        const double ms = ms_since(t0);
        std::printf("[tp peer] waiting kernel released by abort after %.0f ms\n", ms);
        EXPECT_LT(ms, 2000);
        EXPECT_EQ(px->blamed(), -1);
    }
    auto px = PeerExchange::create({0, 1}, n, std::chrono::milliseconds(5000));  // a new exchange works
    for (int r = 0; r < 2; ++r) {
        std::vector<float> h(n);
        for (std::size_t i = 0; i < n; ++i) h[i] = value(i, r, 3);
        upload(buf[std::size_t(r)], h);
    }
    both(*px);
    st.sync();
    for (int r = 0; r < 2; ++r) {
        const auto s = download(buf[std::size_t(r)], n);
        for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(s[i], value(i, 0, 3) + value(i, 1, 3));
    }
}

}  // namespace
}  // namespace m1

#else
TEST(TpPeer, NeedsNccl) { GTEST_SKIP() << "built without NCCL"; }
#endif
