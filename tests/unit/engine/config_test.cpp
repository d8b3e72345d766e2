// ModelConfig: both published layouts, defaults, parameter counts of M1, and errors that name the key.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "m1/config.h"

namespace {

using json = nlohmann::json;

json m1_original() {
    json j = {{"architectures", {"MiniMaxM1ForCausalLM"}}, {"hidden_size", 6144}, {"num_hidden_layers", 80},
              {"num_attention_heads", 64}, {"num_key_value_heads", 8}, {"head_dim", 128}, {"intermediate_size", 9216},
              {"num_local_experts", 32}, {"num_experts_per_tok", 2}, {"shared_intermediate_size", 0},
              {"vocab_size", 200064}, {"hidden_act", "silu"}, {"rms_norm_eps", 1e-5}, {"rope_theta", 10000000},
              {"rotary_dim", 64}, {"max_position_embeddings", 10240000}, {"postnorm", true},
              {"layernorm_full_attention_alpha", 3.5565588200778455}, {"layernorm_full_attention_beta", 1.0},
              {"layernorm_linear_attention_alpha", 3.5565588200778455}, {"layernorm_linear_attention_beta", 1.0},
              {"layernorm_mlp_alpha", 3.5565588200778455}, {"layernorm_mlp_beta", 1.0}, {"sliding_window", nullptr},
              {"tie_word_embeddings", false}};
    json types = json::array();
    for (int l = 0; l < 80; ++l) types.push_back(l % 8 == 7 ? 1 : 0);
    j["attn_type_list"] = types;
    return j;
}

std::string error_of(const json& j) {
    try {
        m1::ModelConfig::from_json(j.dump());
    } catch (const m1::ConfigError& e) {
        return e.what();
    }
    return "";
}

TEST(Config, M1OriginalLayoutAndParameterCount) {
    auto c = m1::ModelConfig::from_json(m1_original().dump());
    EXPECT_TRUE(c.original_layout);
    EXPECT_EQ(c.num_lightning_layers(), 70);
    EXPECT_EQ(c.num_softmax_layers(), 10);
    EXPECT_EQ(c.layer_kinds[7], m1::LayerKind::Softmax);
    EXPECT_EQ(c.rotary_dim, 64);
    EXPECT_DOUBLE_EQ(c.rope_theta, 1e7);
    EXPECT_EQ(c.block_size, 256);
    auto p = c.param_counts();
    EXPECT_EQ(p.total, 456089655296);  // M1_MODEL.md §10.1
    EXPECT_EQ(p.active - p.embedding - p.lm_head, 45944920064);
    auto s = c.lightning_slopes(0);
    EXPECT_NEAR(std::exp(-s[0]), 0.3997, 1e-4);
}

TEST(Config, TransformersLayout) {
    json j = m1_original();
    j["architectures"] = {"MiniMaxForCausalLM"};
    json lt = json::array();
    for (int v : j["attn_type_list"]) lt.push_back(v ? "full_attention" : "linear_attention");
    j.erase("attn_type_list");
    j["layer_types"] = lt;
    for (auto [o, h] : {std::pair{"layernorm_mlp_alpha", "mlp_alpha_factor"}, {"layernorm_mlp_beta", "mlp_beta_factor"}}) {
        j[h] = j[o];
        j.erase(o);
    }
    j.erase("rope_theta");
    j.erase("rotary_dim");
    j["rope_parameters"] = {{"rope_theta", 1e7}, {"rope_type", "default"}};
    j["block_size"] = 128;
    auto c = m1::ModelConfig::from_json(j.dump());
    EXPECT_FALSE(c.original_layout);
    EXPECT_EQ(c.num_softmax_layers(), 10);
    EXPECT_DOUBLE_EQ(c.alpha_mlp, 3.5565588200778455);
    EXPECT_EQ(c.rotary_dim, 128);  // absent: the whole head
    EXPECT_EQ(c.block_size, 128);
    EXPECT_DOUBLE_EQ(c.rope_theta, 1e7);
}

TEST(Config, ErrorsNameTheKey) {
    json j = m1_original();
    j["architectures"] = {"LlamaForCausalLM"};
    EXPECT_NE(error_of(j).find("architectures"), std::string::npos);
    j = m1_original();
    j["rotary_dim"] = 200;
    EXPECT_NE(error_of(j).find("rotary_dim"), std::string::npos);
    j = m1_original();
    j["attn_type_list"][3] = 2;
    EXPECT_NE(error_of(j).find("attn_type_list"), std::string::npos);
    j = m1_original();
    j["attn_type_list"].erase(0);
    EXPECT_NE(error_of(j).find("attn_type_list"), std::string::npos);
    j = m1_original();
    j["num_key_value_heads"] = 7;
    EXPECT_NE(error_of(j).find("num_key_value_heads"), std::string::npos);
    j = m1_original();
    j["shared_intermediate_size"] = 4096;
    EXPECT_NE(error_of(j).find("shared_intermediate_size"), std::string::npos);
    j = m1_original();
    j.erase("hidden_size");
    EXPECT_NE(error_of(j).find("hidden_size"), std::string::npos);
    j = m1_original();
    j["num_experts_per_tok"] = 33;
    EXPECT_NE(error_of(j).find("num_experts_per_tok"), std::string::npos);
    j = m1_original();
    j["rope_scaling"] = {{"rope_type", "yarn"}};
    EXPECT_NE(error_of(j).find("rope_scaling"), std::string::npos);
    j = m1_original();
    j["hidden_act"] = "gelu";
    EXPECT_NE(error_of(j).find("hidden_act"), std::string::npos);
    EXPECT_THROW(m1::ModelConfig::from_json("{not json"), m1::ConfigError);
    EXPECT_THROW(m1::ModelConfig::from_json("[1,2]"), m1::ConfigError);
    EXPECT_THROW(m1::ModelConfig::load("/nonexistent/model"), m1::ConfigError);
}

}  // namespace
