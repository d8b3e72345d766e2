// End to end: the CUDA backend on the embedded demo model against the CPU engine (logits within 1e-2 by
// normalised error, identical greedy tokens), chunked prefill, state export/import across devices, the
// memory planner's refusal, and recovery from GPU out-of-memory.
#include <gtest/gtest.h>

#include <random>

#include "engine/src/cuda/cuda_backend.h"
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

std::vector<int32_t> random_ids(int n, int V) {
    static std::mt19937 g(std::random_device{}());
    std::vector<int32_t> ids(n);
    for (auto& i : ids) i = int32_t(g() % uint32_t(V));
    return ids;
}

int argmax(std::span<const float> v) { return int(std::max_element(v.begin(), v.end()) - v.begin()); }

}  // namespace

TEST(CudaBackend, LogitsMatchCpuAndGreedyTokensAgree) {
    auto model = demo();
    const int V = int(model->config().vocab_size), T = 300;
    auto cpu = make_cpu_backend(model)->new_session();
    auto gpu_backend = make_backend(model, "cuda");
    EXPECT_EQ(gpu_backend->device(), "cuda:0");
    auto gpu = gpu_backend->new_session();
    const auto ids = random_ids(T, V);
    std::vector<float> lc(std::size_t(T) * V), lg(std::size_t(T) * V);
    cpu->prefill(ids, 64, {}, nullptr, lc.data());
    gpu->prefill(ids, 64, {}, nullptr, lg.data());
    const double e = rel_err(lg, lc);
    std::printf("demo model, %d tokens, chunk 64: ||gpu - cpu|| / ||cpu|| = %.3e\n", T, e);
    EXPECT_LT(e, 1e-2);
    // Greedy continuation: 16 tokens, each fed back one at a time (the GPU through its decode graph).
    for (int step = 0; step < 16; ++step) {
        const int a = argmax(cpu->logits()), b = argmax(gpu->logits());
        ASSERT_EQ(a, b) << "greedy token " << step;
        const int32_t id = a;
        cpu->forward({&id, 1});
        gpu->forward({&id, 1});
    }
    EXPECT_LT(rel_err({gpu->logits().begin(), gpu->logits().end()}, {cpu->logits().begin(), cpu->logits().end()}), 1e-2);
    EXPECT_EQ(gpu->position(), T + 16);
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
    EXPECT_GT(p.weights, std::size_t(900e9));  // 456 B parameters, bf16, fp32 LM head
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
