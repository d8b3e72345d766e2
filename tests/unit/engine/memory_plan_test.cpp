// The memory planner against MiniMax-M1's published numbers (912 GB bf16, 477 GB with int8 experts,
// 40 KiB of KV cache per token, 280 MiB of lightning state) and the fit decisions that follow.
#include <gtest/gtest.h>

#include <algorithm>

#include "m1/memory_plan.h"

namespace m1 {
namespace {

ModelConfig m1_config() {
    ModelConfig c;
    c.architecture = "MiniMaxM1ForCausalLM";
    c.hidden_size = 6144;
    c.num_layers = 80;
    c.num_heads = 64;
    c.num_kv_heads = 8;
    c.head_dim = 128;
    c.rotary_dim = 64;
    c.intermediate_size = 9216;
    c.num_experts = 32;
    c.top_k = 2;
    c.vocab_size = 200064;
    c.max_position_embeddings = 10240000;
    for (int l = 0; l < 80; ++l) c.layer_kinds.push_back(l % 8 == 7 ? LayerKind::Softmax : LayerKind::Lightning);
    return c;
}

constexpr uint64_t kGiB = uint64_t(1) << 30;

TEST(MemoryPlan, M1WholeModelNumbers) {
    ModelMemory m = model_memory(m1_config());
    // 456,089,655,296 parameters in bf16, routers stored fp32: the checkpoint index's total exactly.
    EXPECT_EQ(m.weights_bf16, 912'210'767'872ull);
    // Experts (80 x 32 x 3 x 6144 x 9216) drop from 2 bytes to 1, plus one fp32 scale per output row.
    const uint64_t expert_params = 80ull * 32 * 3 * 6144 * 9216;
    const uint64_t scales = 80ull * 32 * (2 * 9216 + 6144) * 4;
    EXPECT_EQ(m.weights_int8_experts, 912'210'767'872ull - expert_params + scales);
    EXPECT_GT(m.weights_int8_experts, 477'000'000'000ull);
    EXPECT_LT(m.weights_int8_experts, 478'000'000'000ull);
    EXPECT_EQ(m.kv_bytes_per_token, 40u * 1024);               // 10 layers x K,V x 8 x 128 x bf16
    EXPECT_EQ(m.lightning_state_bytes, 280ull * 1024 * 1024);  // 70 layers x 64 x 128 x 128 x fp32
}

TEST(MemoryPlan, ShardsDivideByGpuCount) {
    ModelConfig c = m1_config();
    PlanOptions o;
    o.context_tokens = 1'000'000;
    auto one = per_gpu_memory(c, 1, WeightPrecision::bf16, o);
    auto eight = per_gpu_memory(c, 8, WeightPrecision::bf16, o);
    // Everything but norms, routers and the embedding (the CUDA loader keeps it whole on every GPU) is
    // split: replicated bytes are 80 x (32 x 6144 x 4 + 2 x 6144 x 2) + 6144 x 2 + 200064 x 6144 x 2.
    const uint64_t replicated = 80ull * (32 * 6144 * 4 + 2 * 6144 * 2) + 6144 * 2 + 200064ull * 6144 * 2;
    EXPECT_EQ(eight.weights, (one.weights - replicated) / 8 + replicated);
    // On one GPU: the checkpoint as stored (the LM head stays bf16; the logits are computed from it in fp32).
    EXPECT_EQ(one.weights, model_memory(c).weights_bf16);
    EXPECT_EQ(one.kv_cache, 40960ull * 1'000'000);
    EXPECT_EQ(eight.kv_cache, 5120ull * 1'000'000);  // 1M tokens: 5 GB per GPU at TP-8
    EXPECT_EQ(eight.lightning_state, 35ull * 1024 * 1024);
    EXPECT_GT(one.workspace, eight.workspace);
    EXPECT_EQ(eight.reserve, 2 * kGiB);
}

TEST(MemoryPlan, FitsWhereTheAnchorsSay) {
    ModelConfig c = m1_config();
    PlanOptions o;
    o.context_tokens = 1'000'000;
    GpuKind h100 = assumed_h100_80gb(), h200 = assumed_h200_141gb();
    // bf16 (912 GB) does not fit 8 x 80 GB; int8 experts fit 8 x 80 GB with 1M tokens of KV.
    EXPECT_FALSE(plan(c, h100, 8, WeightPrecision::bf16, o).fits);
    PlanRow int8_h100 = plan(c, h100, 8, WeightPrecision::int8_experts, o);
    EXPECT_TRUE(int8_h100.fits);
    double left_gb = double(int8_h100.gpu_bytes - int8_h100.per_gpu.total()) / 1e9;
    EXPECT_GT(left_gb, 10.0);  // about 20 GB/GPU before KV and workspace
    EXPECT_LT(left_gb, 25.0);
    EXPECT_FALSE(plan(c, h100, 4, WeightPrecision::int8_experts, o).fits);
    // 8 x H200 (8 x 150.8 GB) hold bf16 weights and 1M tokens.
    EXPECT_TRUE(plan(c, h200, 8, WeightPrecision::bf16, o).fits);
    EXPECT_FALSE(plan(c, h200, 4, WeightPrecision::bf16, o).fits);
    EXPECT_TRUE(plan(c, h200, 4, WeightPrecision::int8_experts, o).fits);
    EXPECT_FALSE(plan(c, h200, 2, WeightPrecision::int8_experts, o).fits);
    // 8 x H100 int8: the longest context is several million tokens; 1 GPU: nothing fits.
    EXPECT_GT(int8_h100.max_context_tokens, 3'000'000u);
    EXPECT_EQ(plan(c, h100, 1, WeightPrecision::bf16, o).max_context_tokens, 0u);
}

TEST(MemoryPlan, AdviceNamesTheNextStep) {
    ModelConfig c = m1_config();
    PlanOptions o;
    o.context_tokens = 1'000'000;
    GpuKind h200 = assumed_h200_141gb(), h100 = assumed_h100_80gb();
    std::string a = fit_advice(c, h200, 2, WeightPrecision::int8_experts, o);
    EXPECT_NE(a.find("477.6 GB with int8 experts"), std::string::npos) << a;
    EXPECT_NE(a.find("2 GPUs have 301.5 GB"), std::string::npos) << a;
    EXPECT_NE(a.find("use 4 or more GPUs"), std::string::npos) << a;
    std::string b = fit_advice(c, h100, 8, WeightPrecision::bf16, o);
    EXPECT_NE(b.find("use int8 experts on 8 GPUs"), std::string::npos) << b;
    EXPECT_EQ(fit_advice(c, h200, 8, WeightPrecision::bf16, o), "");
    // A context too long for 8 x H100 even with int8 experts: shorten it.
    o.context_tokens = 9'000'000;
    std::string d = fit_advice(c, h100, 8, WeightPrecision::int8_experts, o);
    EXPECT_NE(d.find("use a context of at most"), std::string::npos) << d;
}

TEST(MemoryPlan, TableListsEveryCountAndPrecision) {
    PlanOptions o;
    auto rows = plan_table(m1_config(), assumed_h200_141gb(), o);
    ASSERT_EQ(rows.size(), 8u);
    EXPECT_EQ(rows[0].gpus, 1);
    EXPECT_EQ(rows[3].gpus, 8);
    EXPECT_EQ(rows[4].precision, WeightPrecision::int8_experts);
    std::string t = format_plan_table(m1_config(), assumed_h200_141gb(), o);
    EXPECT_NE(t.find("int8-experts"), std::string::npos);
    EXPECT_NE(t.find("1,000,000 tokens"), std::string::npos);
    EXPECT_EQ(std::count(t.begin(), t.end(), '\n'), 10);  // heading, column names, 8 rows
}

TEST(MemoryPlan, TinyModelFitsAnywhere) {
    ModelConfig c;
    c.hidden_size = 64;
    c.num_layers = 8;
    c.num_heads = 4;
    c.num_kv_heads = 2;
    c.head_dim = 16;
    c.intermediate_size = 128;
    c.num_experts = 4;
    c.top_k = 2;
    c.vocab_size = 1024;
    for (int l = 0; l < 8; ++l) c.layer_kinds.push_back(l == 7 ? LayerKind::Softmax : LayerKind::Lightning);
    PlanOptions o;
    o.context_tokens = 4096;
    EXPECT_TRUE(plan(c, assumed_h100_80gb(), 1, WeightPrecision::bf16, o).fits);
    // KV heads (2) fewer than GPUs (4): each GPU keeps one whole KV head, not half of one.
    auto four = per_gpu_memory(c, 4, WeightPrecision::bf16, o);
    EXPECT_EQ(four.kv_cache, 1ull * 2 * 1 * 16 * 2 * 4096);
}

TEST(MemoryPlan, PrefillChunkLeavesHalfTheSpareMemory) {
    const ModelConfig c = m1_config();
    PlanOptions o;
    o.context_tokens = 1'000'000;
    const uint64_t h100 = uint64_t(81559) << 20, h200 = uint64_t(143771) << 20;
    int64_t last = 0;
    for (uint64_t free_bytes : {uint64_t(60e9), h100, uint64_t(100e9), h200}) {  // more memory: never a smaller chunk
        const int64_t chunk = plan_prefill_chunk(c, 8, WeightPrecision::int8_experts, o, free_bytes);
        SCOPED_TRACE(std::to_string(free_bytes) + " bytes free: chunk " + std::to_string(chunk));
        EXPECT_GE(chunk, last);
        last = chunk;
        EXPECT_EQ(chunk & (chunk - 1), 0);  // a power of two
        EXPECT_GE(chunk, 512);
        EXPECT_LE(chunk, 32768);
        PlanOptions at = o;
        at.prefill_chunk = chunk;
        const MemoryBreakdown b = per_gpu_memory(c, 8, WeightPrecision::int8_experts, at);
        if (chunk > 512) {
            EXPECT_LE(b.total() + b.workspace, free_bytes);  // as much again stays free for the KV cache
        }
        if (chunk < 32768) {
            at.prefill_chunk = 2 * chunk;
            const MemoryBreakdown b2 = per_gpu_memory(c, 8, WeightPrecision::int8_experts, at);
            EXPECT_GT(b2.total() + b2.workspace, free_bytes);  // the next size would take more than half
        }
    }
    // Real M1, int8 experts, 1M tokens of KV on 8 H100s: about 20 GB per GPU left, a mid-size chunk.
    const int64_t h100_chunk = plan_prefill_chunk(c, 8, WeightPrecision::int8_experts, o, h100);
    EXPECT_GE(h100_chunk, 4096);
    // bf16 M1 does not fit 8 x 80 GB at all: the smallest chunk, and the fit check refuses.
    EXPECT_EQ(plan_prefill_chunk(c, 8, WeightPrecision::bf16, o, h100), 512);
}

}  // namespace
}  // namespace m1
