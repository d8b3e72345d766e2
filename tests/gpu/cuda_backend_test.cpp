// End to end: the CUDA backend on the embedded demo model against the CPU engine, layer by layer (logits
// within 1e-2 by normalised error up to the first MoE near tie, identical greedy tokens), the split-K decode
// against prefill at head dim 128, chunked prefill, state export/import across devices, the memory
// planner's refusal, and recovery from GPU out-of-memory.
#include <gtest/gtest.h>

#include <random>

#include "bench/m1_slice.h"
#include "engine/src/cuda/cuda_backend.h"
#include "cuda_reference_trace.h"
#include "cuda_test_support.h"
#include "m1/backend.h"
#include "m1/model.h"

using namespace m1;
using namespace m1::test;

namespace {

std::shared_ptr<const Model> demo() {
    static auto m = Model::load(demo_model_dir());
    return m;
}

std::vector<int32_t> seeded_ids(int n, int V, uint32_t seed) {
    std::mt19937 g(seed);
    std::vector<int32_t> ids(n);
    for (auto& i : ids) i = int32_t(g() % uint32_t(V));
    return ids;
}

// A fixed seed: the demo model's router has near ties that bf16 rounding can flip (docs/benchmarks/cuda-engine.md),
// so CPU-vs-GPU bounds hold for most prompts but not all; a fixed prompt keeps the tests repeatable.
std::vector<int32_t> random_ids(int n, int V) {
    static std::mt19937 g(20261122);
    std::vector<int32_t> ids(n);
    for (auto& i : ids) i = int32_t(g() % uint32_t(V));
    return ids;
}

int argmax(std::span<const float> v) { return int(std::max_element(v.begin(), v.end()) - v.begin()); }

}  // namespace

// Where the GPU differs from the CPU, and why. bf16 GEMM inputs, bf16 q/k/v, attention outputs and KV cache
// leave about 3e-3 (||d||/||ref||) on the demo model. Beyond that, a token whose router sees its k-th and
// (k+1)-th experts within rounding of each other (a near tie) can pick the other expert on the GPU; that moves
// its row, and through attention the later rows, by far more (one such token in 300 gives ~1e-2). So, per
// fixed prompt: the causally first token whose routing differs must be a near tie in the fp32 reference, the
// logits of every earlier row (which that token cannot influence) must be within 1e-2, and all logits when
// routing agrees everywhere. Per-layer errors are printed: where the error grows.
TEST(CudaBackend, DemoMatchesCpuLayerByLayer) {
    auto model = demo();
    const ModelConfig& c = model->config();
    const int V = int(c.vocab_size), H = int(c.hidden_size), E = int(c.num_experts), K = int(c.top_k);
    const int L = int(c.num_layers), T = 300;
    auto cpu = make_cpu_backend(model)->new_session();
    auto gpu_backend = make_backend(model, "cuda");
    EXPECT_EQ(gpu_backend->device(), "cuda:0");
    int agreeing = 0;
    for (uint32_t seed : {1u, 2u, 3u, 4u, 5u, 6u}) {
        const auto ids = seeded_ids(T, V, seed);
        std::vector<float> lc(std::size_t(T) * V), lg(lc.size());
        cpu->reset();
        cpu->prefill(ids, 64, {}, nullptr, lc.data());
        RefTrace ref(*model);
        std::vector<RefLayer> rl;
        const auto lr = ref.forward(ids, rl);
        ASSERT_LT(rel_err(lr, lc), 1e-4) << "the traced reference is not the CPU engine";
        std::vector<std::vector<float>> gx(std::size_t(L), std::vector<float>(std::size_t(T) * H));
        std::vector<std::vector<int32_t>> ge(std::size_t(L), std::vector<int32_t>(std::size_t(T) * K));
        auto gpu = gpu_backend->new_session();
        set_cuda_trace(*gpu, [&](const CudaLayerTrace& tr) {
            std::copy(tr.residual.begin(), tr.residual.end(), gx[std::size_t(tr.layer)].begin() + tr.position * H);
            std::copy(tr.experts.begin(), tr.experts.end(), ge[std::size_t(tr.layer)].begin() + tr.position * K);
        });
        gpu->prefill(ids, 64, {}, nullptr, lg.data());
        // The causally first (token, layer) whose expert set differs.
        int t0 = T, l0 = -1;
        for (int t = 0; t < T && l0 < 0; ++t)
            for (int l = 0; l < L && l0 < 0; ++l) {
                auto a = std::vector<int32_t>(rl[std::size_t(l)].experts.begin() + t * K, rl[std::size_t(l)].experts.begin() + (t + 1) * K);
                auto b = std::vector<int32_t>(ge[std::size_t(l)].begin() + t * K, ge[std::size_t(l)].begin() + (t + 1) * K);
                std::sort(a.begin(), a.end());
                std::sort(b.begin(), b.end());
                if (a != b) t0 = t, l0 = l;
            }
        auto rows = [&](const std::vector<float>& v, int n, int w) { return std::vector<float>(v.begin(), v.begin() + std::size_t(n) * w); };
        std::printf("seed %u: all logits %.3e", seed, rel_err(lg, lc));
        if (l0 < 0) {
            ++agreeing;
            std::printf(" (routing agrees everywhere)\n  per layer:");
            EXPECT_LT(rel_err(lg, lc), 1e-2) << "seed " << seed;
        } else {
            const auto& lgl = rl[std::size_t(l0)].router_logits;
            std::vector<float> r(lgl.begin() + t0 * E, lgl.begin() + (t0 + 1) * E);
            std::sort(r.rbegin(), r.rend());
            double rms = 0;
            for (float x : lgl) rms += double(x) * x;
            rms = std::sqrt(rms / double(lgl.size()));
            const double margin = r[std::size_t(K) - 1] - r[std::size_t(K)];
            std::printf("; first routing difference at token %d, layer %d: reference margin %.2e (layer logit rms %.2f); "
                        "rows before it %.3e\n  per layer (rows before it):", t0, l0, margin, rms,
                        t0 > 0 ? rel_err(rows(lg, t0, V), rows(lc, t0, V)) : 0.0);
            EXPECT_LT(margin, 0.02 * rms) << "seed " << seed << ": routing differs at token " << t0 << ", layer " << l0
                                          << " where the reference is no near tie";
            if (t0 > 0) {
                EXPECT_LT(rel_err(rows(lg, t0, V), rows(lc, t0, V)), 1e-2) << "seed " << seed;
            }
        }
        for (int l = 0; l < L && t0 > 0; ++l) {
            std::printf(" %.1e", rel_err(rows(gx[std::size_t(l)], t0, H), rows(rl[std::size_t(l)].residual, t0, H)));
        }
        std::printf("\n");
    }
    std::printf("%d of 6 prompts route identically on GPU and CPU\n", agreeing);
}

TEST(CudaBackend, GreedyTokensAgreeWithCpu) {
    auto model = demo();
    const int V = int(model->config().vocab_size);
    auto cpu = make_cpu_backend(model)->new_session();
    auto gpu = make_backend(model, "cuda")->new_session();
    const auto ids = seeded_ids(120, V, 11);
    cpu->prefill(ids, 64);
    gpu->prefill(ids, 64);
    // 16 tokens, each fed back one at a time (the GPU through its decode graph).
    for (int step = 0; step < 16; ++step) {
        const int a = argmax(cpu->logits()), b = argmax(gpu->logits());
        ASSERT_EQ(a, b) << "greedy token " << step;
        const int32_t id = a;
        cpu->forward({&id, 1});
        gpu->forward({&id, 1});
    }
    EXPECT_LT(rel_err({gpu->logits().begin(), gpu->logits().end()}, {cpu->logits().begin(), cpu->logits().end()}), 1e-2);
    EXPECT_EQ(gpu->position(), 120 + 16);
}

// Head dim 128 (the tuned kernels): a decode step through the split-K kernel and its CUDA graph gives the
// logits that a prefill of the same tokens (the prefill attention kernel) gives, at lengths spanning several
// splits and a cache that grows while decoding.
TEST(CudaBackend, SplitKDecodeMatchesPrefill) {
    ModelConfig c;
    c.hidden_size = 256; c.num_heads = 4; c.num_kv_heads = 2; c.head_dim = 128; c.rotary_dim = 64;
    c.intermediate_size = 256; c.num_experts = 4; c.top_k = 2; c.vocab_size = 512;
    c.max_position_embeddings = 1 << 20; c.rope_theta = 1e7; c.rms_norm_eps = 1e-5;
    c.alpha_linear = c.alpha_full = c.alpha_mlp = 2.0;
    c.layer_kinds = {LayerKind::Lightning, LayerKind::Softmax, LayerKind::Lightning, LayerKind::Softmax};
    c.num_layers = 4;
    CudaOptions o;
    o.max_chunk = 2048;
    o.context_tokens = 1024;  // the cache starts small and grows during the decode steps below
    auto m = random_cuda_model(c, 0, o, 77);
    const auto ids = seeded_ids(9000, int(c.vocab_size), 5);
    for (int n : {700, 5000, 8990}) {
        auto dec = new_cuda_session(m), pre = new_cuda_session(m);
        dec->prefill(std::vector<int32_t>(ids.begin(), ids.begin() + n), 2048);
        for (int i = 0; i < 6; ++i) dec->forward({&ids[std::size_t(n + i)], 1});
        pre->prefill(std::vector<int32_t>(ids.begin(), ids.begin() + n + 6), 2048);
        const std::vector<float> a(dec->logits().begin(), dec->logits().end()), b(pre->logits().begin(), pre->logits().end());
        const double e = rel_err(a, b);
        std::printf("head dim 128, %d tokens + 6 decode steps vs prefill: %.3e\n", n, e);
        EXPECT_LT(e, 5e-3) << n;
        EXPECT_EQ(dec->position(), n + 6);
    }
}

TEST(CudaBackend, ChunkingDoesNotChangeTheResult) {
    auto model = demo();
    const int V = int(model->config().vocab_size), T = 200;
    auto b = make_backend(model, "cuda");
    auto s1 = b->new_session(), s2 = b->new_session();
    const auto ids = random_ids(T, V);
    s1->prefill(ids, T);
    s2->prefill(ids, 37);
    std::vector<float> a(s1->logits().begin(), s1->logits().end()), c(s2->logits().begin(), s2->logits().end());
    EXPECT_LT(rel_err(c, a), 5e-3);
}

TEST(CudaBackend, StateMovesBetweenCpuAndGpu) {
    auto model = demo();
    const int V = int(model->config().vocab_size);
    auto cpu = make_cpu_backend(model)->new_session();
    auto gpu = make_backend(model, "cuda")->new_session();
    const auto ids = random_ids(120, V), more = random_ids(5, V);
    gpu->prefill(ids, 50);
    VectorSink sink;
    gpu->export_state(sink);
    SpanSource src(sink.bytes);
    cpu->import_state(src);
    EXPECT_EQ(cpu->position(), 120);
    cpu->forward(more);
    gpu->forward(more);
    std::vector<float> a(cpu->logits().begin(), cpu->logits().end()), g(gpu->logits().begin(), gpu->logits().end());
    EXPECT_LT(rel_err(g, a), 1e-2);
    // And back: the CPU state (fp32 KV) into a fresh GPU session.
    VectorSink s2;
    cpu->export_state(s2);
    auto gpu2 = make_backend(model, "cuda")->new_session();
    SpanSource src2(s2.bytes);
    gpu2->import_state(src2);
    EXPECT_EQ(gpu2->position(), 125);
    std::vector<float> g2(gpu2->logits().begin(), gpu2->logits().end());
    EXPECT_EQ(g2, a);  // the stored logits travel exactly
    // A corrupted stream is refused and leaves the session as it was.
    s2.bytes[s2.bytes.size() / 2] ^= 0x40;
    SpanSource bad(s2.bytes);
    EXPECT_THROW(gpu2->import_state(bad), StateFormatError);
    EXPECT_EQ(gpu2->position(), 125);
}

TEST(CudaBackend, PlannerRefusesWithAdvice) {
    ModelConfig c;
    c.hidden_size = 6144; c.num_layers = 80; c.num_heads = 64; c.num_kv_heads = 8; c.head_dim = 128;
    c.rotary_dim = 64; c.intermediate_size = 9216; c.num_experts = 32; c.top_k = 2; c.vocab_size = 200064;
    c.max_position_embeddings = 10240000;
    for (int l = 0; l < 80; ++l) c.layer_kinds.push_back(l % 8 == 7 ? LayerKind::Softmax : LayerKind::Lightning);
    CudaOptions o;
    const MemoryPlan p = plan_memory(c, o);
    EXPECT_GT(p.weights, std::size_t(900e9));  // 456 B parameters, bf16
    try {
        check_plan_fits(c, o, std::size_t(80e9), 0);
        FAIL() << "M1 in bf16 does not fit one 80 GB GPU";
    } catch (const DeviceError& e) {
        EXPECT_TRUE(e.out_of_memory);
        EXPECT_NE(std::string(e.what()).find("more GPUs"), std::string::npos) << e.what();
    }
    o.int8_experts = true;
    EXPECT_LT(plan_memory(c, o).weights, std::size_t(500e9));  // ~477 GB: fits 8 x 80 GB
}

TEST(CudaBackend, AutoPrefillChunkLeavesHalfTheSpareMemory) {
    const ModelConfig c = bench::m1_width_slice(3, 1);  // 50.1 GB of bf16 weights
    CudaOptions o;
    o.context_tokens = 131072;
    const std::size_t h100 = std::size_t(81559) << 20, h200 = std::size_t(143771) << 20;
    for (std::size_t free_bytes : {h100, h200, std::size_t(56e9), std::size_t(40e9)}) {
        const int64_t chunk = auto_prefill_chunk(c, o, free_bytes);
        CudaOptions at = o;
        at.max_chunk = chunk;
        const MemoryPlan p = plan_memory(c, at);
        SCOPED_TRACE("free " + std::to_string(free_bytes) + ", chunk " + std::to_string(chunk) + ": " + p.describe());
        EXPECT_GE(chunk, 512);
        EXPECT_LE(chunk, 32768);
        if (chunk > 512) {  // the workspace leaves at least as much again free for the KV cache to grow into
            EXPECT_LE(p.total() + p.workspace, free_bytes);
            at.max_chunk = chunk * 2;
            const std::size_t margin = std::size_t(512) << 20;
            if (chunk < 32768) {
                EXPECT_GT(2 * plan_memory(c, at).workspace + p.total() - p.workspace + margin, free_bytes);
            }
        }
    }
    EXPECT_EQ(auto_prefill_chunk(c, o, h100), 16384);  // what the H100 slice benchmark measured best to fit
    EXPECT_EQ(auto_prefill_chunk(c, o, h200), 32768);
    EXPECT_EQ(auto_prefill_chunk(c, o, std::size_t(40e9)), 512);  // does not fit at all: the plan refuses later
}

// A prefill step whose workspace does not fit is retried in halves: with ~40 MB left (a 20000-token step of the
// demo model needs ~200 MB, a 2500-token one ~25 MB) the prompt still goes through, with the same logits.
TEST(CudaBackend, PrefillHalvesItsStepWhenMemoryIsShort) {
    auto model = demo();
    const int V = int(model->config().vocab_size);
    CudaOptions o;
    o.max_chunk = 32768;
    auto b = make_cuda_backend(model, 0, o);
    const auto ids = random_ids(20000, V);
    auto ref = b->new_session();
    ref->prefill(ids, 20000);
    const std::vector<float> want(ref->logits().begin(), ref->logits().end());
    ref.reset();
    auto s = b->new_session();
    std::vector<void*> hog;
    std::size_t free_bytes = 0, total = 0;
    ASSERT_EQ(cudaMemGetInfo(&free_bytes, &total), cudaSuccess);
    const std::size_t leave = std::size_t(40) << 20;
    for (std::size_t piece : {std::size_t(1) << 30, std::size_t(1) << 20})
        while (free_bytes > leave + piece) {
            void* p = nullptr;
            if (cudaMalloc(&p, piece) != cudaSuccess) break;
            hog.push_back(p);
            free_bytes -= piece;
        }
    cudaGetLastError();
    bool ok = true;
    std::string what;
    try {
        s->prefill(ids, 20000);
    } catch (const DeviceError& e) {
        ok = false;
        what = e.what();
    }
    for (void* p : hog) cudaFree(p);
    ASSERT_TRUE(ok) << what;
    EXPECT_EQ(s->position(), 20000);
    const std::vector<float> got(s->logits().begin(), s->logits().end());
    EXPECT_LT(rel_err(got, want), 5e-3);
}

TEST(CudaBackend, OutOfMemoryIsTypedAndRecoverable) {
    auto model = demo();
    const int V = int(model->config().vocab_size);
    auto b = make_backend(model, "cuda");
    auto s = b->new_session();
    s->prefill(random_ids(10, V), 10);
    // Take all free memory (large blocks, then 1 MiB ones), so that the next workspace allocation fails.
    std::vector<void*> hog;
    for (std::size_t piece : {std::size_t(1) << 30, std::size_t(1) << 20}) {
        void* p = nullptr;
        while (cudaMalloc(&p, piece) == cudaSuccess) hog.push_back(p);
        cudaGetLastError();
    }
    const auto big = random_ids(20000, V);
    bool threw = false;
    try {
        s->prefill(big, 20000);
    } catch (const DeviceError& e) {
        threw = true;
        EXPECT_TRUE(e.out_of_memory) << e.what();
        EXPECT_FALSE(e.context_lost);
    }
    for (void* p : hog) cudaFree(p);
    EXPECT_TRUE(threw);
    EXPECT_EQ(s->position(), 10);  // state untouched
    s->prefill(random_ids(50, V), 50);  // usable again
    EXPECT_EQ(s->position(), 60);
    EXPECT_THROW(s->forward(std::vector<int32_t>{V}), InputError);
}
