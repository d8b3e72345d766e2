// The tensor-parallel engine: the TpLink each rank's forward pass calls (all-reduces, the shared
// lightning norm, the LM-head gather), one worker thread per GPU, and the Session and Backend that
// drive all ranks together. A failure on any rank aborts the communicators at once, so the other ranks
// stop too; the caller gets the first rank's typed error and can build a new backend.
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <thread>

#include "kernels/cuda_check.cuh"
#include "kernels/device_info.cuh"
#include "kernels/gemm_cublas.cuh"
#include "kernels/lm_head.cuh"
#include "kernels/tp_cast.cuh"
#include "kernels/tp_norm.cuh"
#include "m1/memory_plan.h"
#include "m1/model.h"
#include "m1/parallel_buffer.h"
#include "nccl/tp_backend.h"
#include "nccl/tp_peer.h"
#include "nccl/tp_pipeline.h"

namespace m1 {

namespace {

// Partial sums at least this long (elements) go over the link in bf16 when that is asked for: prefill-sized
// messages are bandwidth bound; a decode step's 6144 values cost the same either way, so they stay fp32.
constexpr std::size_t kBf16ReduceMin = std::size_t(1) << 18;

// Chunks shorter than this are not cut into row blocks for overlap: each block's GEMMs would be too small.
constexpr int kOverlapMinRows = 512;

// Per-session switches, read from the environment when a session is made (so that a benchmark can compare them
// on one set of weights). The defaults are what measured fastest on 2 x H200 (docs/benchmarks/multi-gpu.md, run 4).
struct TpRuntime {
    // M1_TP_GRAPHS=1: decode steps through CUDA graphs, collectives GPU to GPU. Off: as the single-GPU path does, each
    // step's graph is captured anew (the next one while the GPU runs the current), and with one capturing thread per
    // GPU that capture became the critical path: 6.80 ms per step against 4.98 ms for NCCL step by step on a 32-layer
    // slice (4-layer slice: 2.08-2.29 against 1.88-2.11 ms).
    bool graphs = false;
    // Overlap of prefill all-reduces with computation, off: on 2 x H200 it gained nothing with the attention output
    // projection cut in two row blocks (0.0456 vs 0.0453 s at 8K) and lost 12% with the MoE cut (smaller expert GEMMs,
    // a second host sync per layer).
    int attn_pieces = 0;  // M1_TP_OVERLAP=N: N row blocks, each block's all-reduce overlapping the next block's
                          // attention output projection (0 or 1: off)
    int moe_pieces = 0;   // M1_TP_OVERLAP_MOE=N: the same for the MoE
    bool profile = false; // M1_TP_PROFILE=1: time the NCCL collectives with events, print per session
    static TpRuntime from_env() {
        TpRuntime r;
        auto num = [](const char* name, int fallback) {
            const char* v = std::getenv(name);
            return v && *v ? std::atoi(v) : fallback;
        };
        r.graphs = num("M1_TP_GRAPHS", r.graphs ? 1 : 0) != 0;
        r.attn_pieces = num("M1_TP_OVERLAP", r.attn_pieces);
        r.moe_pieces = num("M1_TP_OVERLAP_MOE", r.moe_pieces);
        r.profile = num("M1_TP_PROFILE", 0) != 0;
        return r;
    }
};

class Link : public TpLink {
public:
    Link(std::shared_ptr<CommGroup> comm, int rank, const ModelConfig& g, const TpShape& tp,
         const kern::RowWeights& lm_head, bool bf16_reduce)
        : comm_(std::move(comm)), rank_(rank), tp_(tp), D_total_(int(g.lightning_width())), H_(int(g.hidden_size)),
          V_(int(g.vocab_size)), lm_head_(lm_head), bf16_reduce_(bf16_reduce) {}
    int rank() const override { return rank_; }
    int ranks() const override { return tp_.ranks; }
    void set_peer(std::shared_ptr<const PeerExchange> p) { peer_ = std::move(p); }
    void configure(const TpRuntime& rt) { rt_ = rt; }
    CollectiveTimer& timer() { return timer_; }

    // Attention and MoE outputs. In bf16 each rank's partial is rounded once and NCCL's sum once more:
    // about 2^-9 relative on the sub-layer output, enough to flip a near-tie MoE routing downstream.
    // A captured decode step sums GPU to GPU (tp_peer.h), always in fp32.
    void all_reduce(float* buf, std::size_t n, CUstream_st* s) override {
        if (captured(s)) return peer_->all_reduce(rank_, buf, n, s);
        if (rt_.profile) timer_.begin(s);
        if (!bf16_reduce_ || n < kBf16ReduceMin) {
            comm_->all_reduce_sum_rank(rank_, buf, n, CommType::f32, s);
        } else {
            ensure(half_, n * 2, "bf16 all-reduce");
            auto* h = half_.as<__nv_bfloat16>();
            kern::tp_narrow_bf16(buf, h, n, s);
            comm_->all_reduce_sum_rank(rank_, h, n, CommType::bf16, s);
            kern::tp_widen_bf16(h, buf, n, s);
        }
        if (rt_.profile) timer_.end(s, n <= std::size_t(H_));
    }

    void compute_reduce(Site site, int T, int H, float* out, CUstream_st* s,
                        const std::function<void(int, int)>& compute) override {
        const int pieces = site == Site::moe ? rt_.moe_pieces : rt_.attn_pieces;
        if (pieces < 2 || T < kOverlapMinRows || captured(s)) {
            compute(0, T);
            all_reduce(out, std::size_t(T) * std::size_t(H), s);
            return;
        }
        pipeline_.run(pieces, T, H, out, s, compute, [&](float* b, std::size_t n, cudaStream_t side) { all_reduce(b, n, side); });
    }

    void rmsnorm_gate(const void* o, const float* g, int ldg, const void* w, float eps, int T, int D, void* out,
                      CUstream_st* s) override {
        ensure(ss_, std::size_t(T) * 4, "norm sums");
        const auto* ob = static_cast<const __nv_bfloat16*>(o);
        kern::tp_row_sumsq(ob, T, D, ss_.as<float>(), s);
        // The sums of squares always in fp32: they set every feature's scale.
        if (captured(s)) {
            peer_->all_reduce(rank_, ss_.as<float>(), std::size_t(T), s);
        } else {
            if (rt_.profile) timer_.begin(s);
            comm_->all_reduce_sum_rank(rank_, ss_.as<float>(), std::size_t(T), CommType::f32, s);
            if (rt_.profile) timer_.end(s, true);
        }
        kern::tp_rmsnorm_gate_apply(ob, g, ldg, static_cast<const __nv_bfloat16*>(w), ss_.as<float>(), D_total_, eps, T, D,
                                    static_cast<__nv_bfloat16*>(out), s);
    }

    void lm_head(kern::Blas& blas, const float* x, int rows, float* out, CUstream_st* s) override {
        const std::size_t pad = std::size_t(tp_.vocab_pad), n = std::size_t(tp_.ranks);
        ensure(part_, std::size_t(rows) * pad * 4, "LM-head slice");
        ensure(gathered_, n * std::size_t(rows) * pad * 4, "gathered logits");
        ensure(tile_, kern::lm_head_scratch_bytes(lm_head_, rows), "LM-head tile");
        kern::lm_head(blas, x, H_, rows, lm_head_, part_.as<float>(), int(pad), tile_.data());
        gather(part_.as<float>(), gathered_.as<float>(), std::size_t(rows) * pad, s);
        // gathered is [rank][row][pad]; out is [row][V]: rank k's rows land at columns k*pad.
        for (std::size_t k = 0; k < n; ++k) {
            const int64_t vk = std::min<int64_t>(int64_t(pad), V_ - int64_t(k * pad));
            if (vk <= 0) continue;
            M1_CUDA_CHECK(cudaMemcpy2DAsync(out + k * pad, std::size_t(V_) * 4, gathered_.as<float>() + k * rows * pad,
                                            pad * 4, std::size_t(vk) * 4, std::size_t(rows), cudaMemcpyDeviceToDevice, s));
        }
    }

private:
    // True while a decode step is being captured on s: its collectives must then be the peer kernels.
    bool captured(CUstream_st* s) const {
        cudaStreamCaptureStatus st = cudaStreamCaptureStatusNone;
        if (cudaStreamIsCapturing(s, &st) != cudaSuccess || st == cudaStreamCaptureStatusNone) return false;
        if (!peer_) throw std::logic_error("TP: a decode step is captured, but the GPUs cannot reach each other's memory");
        return true;
    }
    // The LM head's all-gather: GPU to GPU when captured, else NCCL.
    void gather(const float* part, float* all, std::size_t n, CUstream_st* s) {
        if (captured(s)) return peer_->all_gather(rank_, part, all, n, s);
        comm_->all_gather_rank(rank_, part, all, n, CommType::f32, s);
    }
    void ensure(DeviceBuffer& b, std::size_t bytes, const char* what) {
        if (b.bytes() >= bytes) return;
        int dev = 0;
        cudaGetDevice(&dev);
        // Also while a decode step is captured (a session's first step may be its first use of a buffer): the
        // relaxed mode lets this thread allocate meanwhile.
        cudaStreamCaptureMode mode = cudaStreamCaptureModeRelaxed;
        cudaThreadExchangeStreamCaptureMode(&mode);
        try {
            b = DeviceBuffer(dev, bytes, what);
        } catch (...) {
            cudaThreadExchangeStreamCaptureMode(&mode);
            throw;
        }
        cudaThreadExchangeStreamCaptureMode(&mode);
    }
    std::shared_ptr<CommGroup> comm_;
    int rank_;
    TpShape tp_;
    int D_total_, H_, V_;
    kern::RowWeights lm_head_;  // this rank's vocabulary rows [vocab.size(), H]
    bool bf16_reduce_;
    DeviceBuffer ss_, part_, gathered_, half_, tile_;
    std::shared_ptr<const PeerExchange> peer_;  // null: decode steps are not captured
    TpRuntime rt_;
    RowPipeline pipeline_;
    CollectiveTimer timer_;
};

// One thread per GPU: run(fn) calls fn(rank) on every rank's thread and returns when all are done.
class RankWorkers {
public:
    explicit RankWorkers(int n) : errors_(std::size_t(n)) {
        for (int r = 0; r < n; ++r) threads_.emplace_back([this, r] { loop(r); });
    }
    ~RankWorkers() {
        {
            std::lock_guard l(mu_);
            stop_ = true;
        }
        cv_.notify_all();
        for (auto& t : threads_) t.join();
    }
    // Returns each rank's exception (null when it succeeded).
    std::vector<std::exception_ptr> run(const std::function<void(int)>& fn) {
        std::unique_lock l(mu_);
        fn_ = &fn;
        pending_ = int(threads_.size());
        for (auto& e : errors_) e = nullptr;
        ++generation_;
        cv_.notify_all();
        done_cv_.wait(l, [&] { return pending_ == 0; });
        fn_ = nullptr;
        return errors_;
    }

private:
    void loop(int r) {
        uint64_t seen = 0;
        std::unique_lock l(mu_);
        for (;;) {
            cv_.wait(l, [&] { return stop_ || generation_ != seen; });
            if (stop_) return;
            seen = generation_;
            const auto* fn = fn_;
            l.unlock();
            std::exception_ptr err;
            try {
                (*fn)(r);
            } catch (...) {
                err = std::current_exception();
            }
            l.lock();
            errors_[std::size_t(r)] = err;
            if (--pending_ == 0) done_cv_.notify_all();
        }
    }
    std::mutex mu_;
    std::condition_variable cv_, done_cv_;
    std::vector<std::thread> threads_;
    std::vector<std::exception_ptr> errors_;
    const std::function<void(int)>* fn_ = nullptr;
    int pending_ = 0;
    uint64_t generation_ = 0;
    bool stop_ = false;
};

}  // namespace

class TpEngine {
public:
    ModelConfig cfg;
    std::string device_name;  // "cuda:0,1"
    std::shared_ptr<CommGroup> comm;
    std::shared_ptr<PeerExchange> peer;  // collectives of captured decode steps; null: steps are not captured
    std::chrono::milliseconds timeout{0};
    std::vector<std::shared_ptr<CudaModel>> ranks;
    std::unique_ptr<RankWorkers> workers;

    Link& link(int r) { return static_cast<Link&>(*ranks[std::size_t(r)]->tp); }

    ~TpEngine() {
        workers.reset();
        for (auto& m : ranks)
            if (m) m->tp.reset();  // the links hold the communicator; it goes before the weights
        comm.reset();
    }

    // Runs fn on every rank's thread. A rank that fails aborts the communicators so that no other rank
    // waits for it; then the first error (a non-communication one first: it is the cause) is rethrown.
    void on_all_ranks(const std::function<void(int)>& fn) {
        auto guarded = [&](int r) {
            try {
                fn(r);
            } catch (const std::exception& e) {
                comm->abort("rank " + std::to_string(r) + " failed: " + e.what());
                throw;
            }
        };
        auto errs = workers->run(guarded);
        if (peer && peer->blamed() >= 0) {  // a captured step's GPU-to-GPU kernel gave up waiting for a peer
            const int b = peer->blamed();
            comm->fail(CommError(CommError::Kind::timeout, b, comm->device(b),
                                 "decode step: rank " + std::to_string(b) + " (GPU " + std::to_string(comm->device(b)) +
                                     ") never joined a GPU-to-GPU collective within " + std::to_string(timeout.count()) +
                                     " ms (watchdog); all communicators aborted"));
        }
        std::exception_ptr first, first_comm;
        for (auto& e : errs) {
            if (!e) continue;
            try {
                std::rethrow_exception(e);
            } catch (const CommError&) {
                if (!first_comm) first_comm = e;
            } catch (...) {
                if (!first) first = e;
            }
        }
        if (first) std::rethrow_exception(first);
        if (first_comm) std::rethrow_exception(first_comm);
        comm->wait();  // surfaces a watchdog abort that let the ranks finish early
    }
};

namespace {

class TpSession : public Session {
public:
    explicit TpSession(std::shared_ptr<TpEngine> e)
        : e_(std::move(e)), s_(e_->ranks.size()), rt_(TpRuntime::from_env()) {
        for (std::size_t r = 0; r < s_.size(); ++r) e_->link(int(r)).timer().totals = {};
        e_->on_all_ranks([&](int r) { s_[std::size_t(r)] = new_cuda_session(e_->ranks[std::size_t(r)]); });
    }
    ~TpSession() override {
        if (rt_.profile) print_profile();
        // Each rank's session frees its buffers on its own GPU's thread.
        try {
            e_->workers->run([&](int r) { s_[std::size_t(r)].reset(); });
        } catch (...) {
        }
    }
    const ModelConfig& config() const override { return e_->cfg; }
    const std::string& fingerprint() const override { return s_[0]->fingerprint(); }
    std::string device() const override { return e_->device_name; }
    int64_t position() const override { return s_[0]->position(); }
    std::span<const float> logits() const override { return s_[0]->logits(); }
    void reset() override {
        e_->on_all_ranks([&](int r) { s_[std::size_t(r)]->reset(); });
    }
    void forward(std::span<const int32_t> ids, float* all_logits) override {
        for (std::size_t i = 0; i < ids.size(); ++i)  // checked once here, so no rank throws alone
            if (ids[i] < 0 || ids[i] >= e_->cfg.vocab_size)
                throw InputError("token " + std::to_string(i) + " has id " + std::to_string(ids[i]) +
                                 ", outside the model's vocabulary (0.." + std::to_string(e_->cfg.vocab_size - 1) + ")");
        // Every rank runs the same collectives, so all compute every position's logits when asked;
        // rank 0's go to the caller.
        if (all_logits) scratch_.resize((s_.size() - 1) * ids.size() * std::size_t(e_->cfg.vocab_size));
        // This session's switches: the links and rank models are the engine's, shared by its sessions.
        for (std::size_t r = 0; r < s_.size(); ++r) {
            e_->link(int(r)).configure(rt_);
            e_->ranks[r]->opts.cuda_graphs = rt_.graphs && e_->peer;  // captured steps need the peer collectives
        }
        if (e_->peer) e_->peer->set_stall(faults().stall_rank);  // the injected stall reaches captured steps too
        const auto t0 = std::chrono::steady_clock::now();
        e_->on_all_ranks([&](int r) {
            float* out = !all_logits ? nullptr
                         : r == 0    ? all_logits
                                     : scratch_.data() + std::size_t(r - 1) * ids.size() * std::size_t(e_->cfg.vocab_size);
            s_[std::size_t(r)]->forward(ids, out);
            if (rt_.profile) e_->link(r).timer().collect();
        });
        const int phase = ids.size() == 1 && !all_logits ? 1 : 0;
        wall_ms_[phase] += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        calls_[phase] += 1;
    }
    void export_state(ByteSink& sink) const override {
        std::vector<const Session*> rs;
        for (auto& s : s_) rs.push_back(s.get());
        tp_export_state(e_->cfg, rs, runner(), sink);
    }
    void import_state(ByteSource& source) override {
        std::vector<Session*> rs;
        for (auto& s : s_) rs.push_back(s.get());
        tp_import_state(e_->cfg, rs, runner(), source);
    }

private:
    // State transfers run on the rank threads without the communicators: a failure aborts nothing.
    TpRankRunner runner() const {
        return [e = e_](const std::function<void(int)>& fn) { return e->workers->run(fn); };
    }
    // M1_TP_PROFILE: per rank and phase, the forward calls' wall time and the NCCL collectives' GPU time (events
    // around each; a rank waiting for a slower peer counts that wait too). Captured steps' collectives are not timed.
    void print_profile() const {
        for (std::size_t r = 0; r < s_.size(); ++r) {
            const auto& t = e_->link(int(r)).timer().totals;
            for (int p = 0; p < 2; ++p) {
                if (!calls_[p]) continue;
                std::printf("[tp profile] rank %zu %s: %ld calls, %.2f ms wall; %ld NCCL collectives, %.2f ms (%.1f%%)\n", r,
                            p ? "decode" : "prefill", calls_[p], wall_ms_[p], t.count[p], t.ms[p],
                            wall_ms_[p] > 0 ? 100.0 * t.ms[p] / wall_ms_[p] : 0.0);
            }
        }
        std::fflush(stdout);
    }
    std::shared_ptr<TpEngine> e_;
    std::vector<std::unique_ptr<Session>> s_;
    std::vector<float> scratch_;  // other ranks' copies of every position's logits
    TpRuntime rt_;
    double wall_ms_[2] = {0, 0};  // [0] prefill (or all logits), [1] decode steps
    long calls_[2] = {0, 0};
};

class TpBackend : public Backend {
public:
    TpBackend(std::shared_ptr<const Model> model, std::shared_ptr<TpEngine> e) : model_(std::move(model)), e_(std::move(e)) {}
    std::string device() const override { return e_->device_name; }
    std::unique_ptr<Session> new_session() override { return new_tp_session(e_); }
    const Model& model() const override { return *model_; }

private:
    std::shared_ptr<const Model> model_;
    std::shared_ptr<TpEngine> e_;
};

std::string rate_text(uint64_t done, uint64_t total, double secs) {
    char buf[128];
    const double rate = secs > 0 ? double(done) / secs : 0;
    const double eta = rate > 0 ? double(total - std::min(done, total)) / rate : 0;
    std::snprintf(buf, sizeof buf, "rank slices: %.1f of %.1f GB, %.2f GB/s, ETA %.0f s", double(done) / 1e9,
                  double(total) / 1e9, rate / 1e9, eta);
    return buf;
}

}  // namespace

TpOptions TpOptions::from_env() {
    TpOptions o;
    o.cuda = CudaOptions::from_env();
    if (const char* v = std::getenv("M1_NCCL_TIMEOUT_MS"); v && *v) o.timeout = std::chrono::milliseconds(std::atoll(v));
    o.moe = tp_moe_from_env(o.moe);
    o.moe_explicit = std::getenv("M1_TP_MOE") && *std::getenv("M1_TP_MOE");
    // Loading hundreds of GB takes minutes: say how it goes on stderr (at most every 2 s, and at the end).
    o.progress = [last = std::chrono::steady_clock::time_point()](double f, const std::string& what) mutable {
        auto t = std::chrono::steady_clock::now();
        if (f < 1.0 && t - last < std::chrono::seconds(2)) return;
        last = t;
        std::fprintf(stderr, "m1: loading %3.0f%%: %s\n", f * 100, what.c_str());
    };
    return o;
}

MoeSplit tp_moe_from_env(MoeSplit fallback) {
    const char* v = std::getenv("M1_TP_MOE");
    if (!v || !*v) return fallback;
    const std::string s = v;
    if (s == "ep" || s == "expert") return MoeSplit::expert;
    if (s == "tp" || s == "tensor") return MoeSplit::tensor;
    throw std::invalid_argument("M1_TP_MOE=" + s + ": expected ep (whole experts per GPU) or tp (sliced experts)");
}

std::shared_ptr<TpEngine> make_tp_engine(const ModelConfig& global, std::vector<std::shared_ptr<CudaModel>> ranks,
                                         std::chrono::milliseconds timeout, MoeSplit moe) {
    auto e = std::make_shared<TpEngine>();
    e->cfg = global;
    CommOptions co;
    e->device_name = "cuda:";
    for (std::size_t r = 0; r < ranks.size(); ++r) {
        co.devices.push_back(ranks[r]->device);
        e->device_name += (r ? "," : "") + std::to_string(ranks[r]->device);
    }
    co.timeout = timeout;
    e->timeout = timeout;
    // Blocking communicators: a small all-reduce costs ~24 us instead of ~72 us (non-blocking ones finish
    // the enqueue asynchronously). The watchdog still aborts them (ncclCommAbort from its own thread
    // releases a host call stuck in NCCL). M1_NCCL_BLOCKING=0 goes back to non-blocking.
    co.blocking = true;
    e->comm = std::make_shared<CommGroup>(co);
    // M1_TP_REDUCE=bf16 sends prefill-sized partial sums in bf16. Off by default: on 2 x H200 it saved
    // ~5% of an 8K prefill, but its rounding flipped a near-tie MoE routing (one row in 600 off by 10%
    // against one GPU, where fp32 stays at 7e-4); docs/benchmarks/multi-gpu.md.
    const char* red = std::getenv("M1_TP_REDUCE");
    const bool bf16_reduce = red && std::string(red) == "bf16";
    const int n = int(ranks.size());
    // Captured decode steps sum and gather GPU to GPU; the largest message is one row of H or of the LM head's slice.
    e->peer = PeerExchange::create(co.devices, std::max<std::size_t>(std::size_t(global.hidden_size),
                                                                     std::size_t(tp_shape(global, 0, n, moe).vocab_pad)),
                                   timeout);
    if (e->peer) e->comm->on_abort([p = e->peer] { p->abort(); });
    for (int r = 0; r < n; ++r) {
        TpShape tp = tp_shape(global, r, n, moe);
        auto& m = *ranks[std::size_t(r)];
        auto link = std::make_shared<Link>(e->comm, r, global, tp, m.lm_head, bf16_reduce);
        link->set_peer(e->peer);
        m.tp = link;
    }
    e->ranks = std::move(ranks);
    e->workers = std::make_unique<RankWorkers>(n);
    return e;
}

std::unique_ptr<Session> new_tp_session(std::shared_ptr<TpEngine> engine) {
    return std::make_unique<TpSession>(std::move(engine));
}

CommGroup& tp_comm(TpEngine& engine) { return *engine.comm; }

std::unique_ptr<Backend> make_tp_backend(std::shared_ptr<const Model> model, const std::vector<int>& devices,
                                         const TpOptions& opts) {
    const ModelConfig& g = model->config();
    const int n = int(devices.size());
    if (!valid_tp_degree(n))
        throw BackendUnavailable(std::to_string(n) + " GPUs: M1 splits its heads over 1, 2, 4 or 8 GPUs");
    std::vector<TpShape> shapes;
    MoeSplit moe = opts.moe;
    if (moe == MoeSplit::expert && g.num_experts % n && !opts.moe_explicit) moe = MoeSplit::tensor;
    try {
        for (int r = 0; r < n; ++r) shapes.push_back(tp_shape(g, r, n, moe));
    } catch (const std::invalid_argument& e) {
        throw BackendUnavailable(e.what());
    }
    // Before any allocation: does each GPU's share fit what it has free?
    const auto devs = cuda::list_devices();
    PlanOptions po;
    po.context_tokens = uint64_t(opts.cuda.context_tokens > 0 ? opts.cuda.context_tokens : 32768);
    const WeightPrecision p = opts.cuda.int8_experts ? WeightPrecision::int8_experts : WeightPrecision::bf16;
    uint64_t least_free = UINT64_MAX;
    for (int d : devices) {
        if (d < 0 || d >= int(devs.size()))
            throw BackendUnavailable("GPU " + std::to_string(d) + " requested; this machine has " +
                                     std::to_string(devs.size()));
        least_free = std::min<uint64_t>(least_free, devs[std::size_t(d)].free_bytes);
    }
    CudaOptions cuda = opts.cuda;  // one chunk for every rank (their collectives meet chunk by chunk)
    if (cuda.max_chunk <= 0) cuda.max_chunk = plan_prefill_chunk(g, n, p, po, least_free);
    po.prefill_chunk = cuda.max_chunk;
    for (int d : devices) {
        GpuKind kind{devs[std::size_t(d)].name, devs[std::size_t(d)].free_bytes, false};
        std::string advice = fit_advice(g, kind, n, p, po);
        if (!advice.empty()) throw GpuError(d, "GPU " + std::to_string(d) + " (free memory): " + advice);
    }
    // Every rank reads its own slices from the mapped shards at once.
    uint64_t total = 0;
    for (const auto& s : shapes) total += rank_load_bytes(*model, s);
    std::atomic<uint64_t> done{0};
    std::vector<std::shared_ptr<CudaModel>> ranks(static_cast<std::size_t>(n));
    std::vector<std::exception_ptr> errs(static_cast<std::size_t>(n));
    std::atomic<int> running{n};
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> th;
    for (int r = 0; r < n; ++r)
        th.emplace_back([&, r] {
            try {
                ranks[std::size_t(r)] = load_rank_model(*model, devices[std::size_t(r)], cuda, shapes[std::size_t(r)], done,
                                                         opts.cancel);
            } catch (...) {
                errs[std::size_t(r)] = std::current_exception();
            }
            --running;
        });
    while (running > 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (opts.progress) opts.progress(total ? double(done) / double(total) : 1.0, rate_text(done, total, secs));
    }
    for (auto& t : th) t.join();
    for (auto& e : errs)
        if (e) std::rethrow_exception(e);  // the loaded ranks' memory goes with `ranks`
    if (opts.progress) {
        double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        opts.progress(1.0, rate_text(done, total, secs));
    }
    return std::make_unique<TpBackend>(std::move(model), make_tp_engine(g, std::move(ranks), opts.timeout, moe));
}

namespace {
class RandomTwin : public TpTwin {
public:
    std::shared_ptr<CudaModel> full;
    std::shared_ptr<TpEngine> engine;
    std::unique_ptr<Session> single_session() override {
        if (!full) throw std::runtime_error("TpTwin: the full model was dropped");
        return new_cuda_session(full);
    }
    std::unique_ptr<Session> parallel_session() override { return new_tp_session(engine); }
    void drop_single() override { full.reset(); }
    void set_single_graphs(bool on) override {
        if (full) full->opts.cuda_graphs = on;
    }
};
}  // namespace

std::unique_ptr<TpTwin> TpTwin::random(const ModelConfig& cfg, const std::vector<int>& devices, const Options& o,
                                       uint64_t seed) {
    CudaOptions co;
    co.int8_experts = o.int8_experts;
    co.max_chunk = o.max_chunk;
    co.context_tokens = o.context_tokens;
    auto t = std::make_unique<RandomTwin>();
    try {
        t->full = random_cuda_model(cfg, devices.at(0), co, seed);
    } catch (const cuda::CudaError& e) {
        cudaGetLastError();
        throw GpuError(devices[0], std::string("making random weights: ") + e.what());
    }
    const int n = int(devices.size());
    std::vector<std::shared_ptr<CudaModel>> ranks;
    for (int r = 0; r < n; ++r)
        ranks.push_back(shard_cuda_model(*t->full, devices[std::size_t(r)], tp_shape(cfg, r, n, o.moe)));
    t->engine = make_tp_engine(cfg, std::move(ranks), o.timeout, o.moe);
    return t;
}

}  // namespace m1
