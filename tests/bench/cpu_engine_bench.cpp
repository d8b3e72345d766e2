// CPU engine benchmark: prefill and decode tokens/s on the demo model and on a ~100M-parameter
// M1-shaped model (random bf16 weights made here), at several context lengths. Validates first
// (chunked prefill equals one-shot prefill), then times; prints a table and writes JSON.
//   cpu_engine_bench [--contexts 1024,8192,32768] [--decode 32] [--threads N] [--json out.json] [--skip-100m]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "bench/bench_args.h"
#include "m1/backend.h"
#include "m1/generate.h"
#include "m1/safetensors.h"
#include "m1/tensor_names.h"

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using clk = std::chrono::steady_clock;

// ~102M parameters: hidden 512, 8 layers (7 lightning + 1 softmax), 8 heads x 64, 6 experts x 1024, top-2.
json bench_config() {
    return {{"architectures", {"MiniMaxM1ForCausalLM"}}, {"hidden_size", 512}, {"num_hidden_layers", 8},
            {"num_attention_heads", 8}, {"num_key_value_heads", 2}, {"head_dim", 64}, {"rotary_dim", 32},
            {"intermediate_size", 1024}, {"num_local_experts", 6}, {"num_experts_per_tok", 2}, {"vocab_size", 16384},
            {"rope_theta", 1e7}, {"attn_type_list", {0, 0, 0, 0, 0, 0, 0, 1}}, {"block_size", 256},
            {"layernorm_full_attention_alpha", 2.0}, {"layernorm_linear_attention_alpha", 2.0},
            {"layernorm_mlp_alpha", 2.0}, {"max_position_embeddings", 1 << 20}};
}

std::string make_bench_model() {
    fs::path dir = fs::temp_directory_path() / "m1-bench-100m";
    fs::create_directories(dir);
    std::ofstream(dir / "config.json") << bench_config().dump(1);
    auto cfg = m1::ModelConfig::load(dir.string());
    if (fs::exists(dir / "model.safetensors")) return dir.string();
    json header = json::object();
    size_t off = 0;
    auto tensors = m1::expected_tensors(cfg);
    for (const auto& t : tensors) {
        size_t n = 1;
        for (auto d : t.shape) n *= size_t(d);
        bool f32 = t.role == m1::TensorRole::Router;
        header[t.name] = {{"dtype", f32 ? "F32" : "BF16"}, {"shape", t.shape}, {"data_offsets", {off, off + n * (f32 ? 4 : 2)}}};
        off += n * (f32 ? 4 : 2);
    }
    std::string h = header.dump();
    uint64_t hl = h.size();
    std::ofstream f(dir / "model.safetensors", std::ios::binary);
    f.write(reinterpret_cast<const char*>(&hl), 8);
    f << h;
    std::mt19937 rng(42);
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    for (const auto& t : tensors) {
        size_t n = 1;
        for (auto d : t.shape) n *= size_t(d);
        const bool norm = t.shape.size() == 1;
        const float scale = norm ? 0.f : (t.role == m1::TensorRole::Embed ? 1.f : 1.7f / std::sqrt(float(t.shape.back())));
        std::vector<float> v(n);
        for (auto& x : v) x = norm ? 1.f + 0.1f * u(rng) : scale * u(rng);
        if (t.role == m1::TensorRole::Router) {
            f.write(reinterpret_cast<const char*>(v.data()), std::streamsize(n * 4));
        } else {
            std::vector<uint16_t> b(n);
            for (size_t i = 0; i < n; ++i) b[i] = m1::f32_to_bf16(v[i]);
            f.write(reinterpret_cast<const char*>(b.data()), std::streamsize(n * 2));
        }
    }
    return dir.string();
}

std::vector<int32_t> ids_for(int64_t n, int64_t vocab) {
    std::vector<int32_t> v(static_cast<size_t>(n));
    uint32_t x = 1;
    for (auto& id : v) id = int32_t((x = x * 1664525u + 1013904223u) >> 8) % int32_t(std::min<int64_t>(vocab, 1000));
    return v;
}

bool validate(m1::Backend& be) {
    auto ids = ids_for(300, be.model().config().vocab_size);
    auto a = be.new_session(), b = be.new_session();
    a->forward(ids);
    b->prefill(ids, 97);
    double mx = 0, d = 0;
    for (size_t i = 0; i < a->logits().size(); ++i) {
        mx = std::max(mx, double(std::fabs(a->logits()[i])));
        d = std::max(d, double(std::fabs(a->logits()[i] - b->logits()[i])));
    }
    return d <= 1e-4 * mx && mx > 0;
}

json run(const std::string& name, const std::string& dir, const std::vector<int64_t>& contexts, int64_t decode) {
    auto model = m1::Model::load(dir);
    auto be = m1::make_backend(model, "cpu");
    auto p = model->config().param_counts();
    json out = {{"model", name}, {"params_total", p.total}, {"params_active", p.active}, {"runs", json::array()}};
    if (!validate(*be)) {
        std::fprintf(stderr, "%s: validation failed (chunked prefill differs from one-shot)\n", name.c_str());
        out["valid"] = false;
        return out;
    }
    out["valid"] = true;
    for (int64_t ctx : contexts) {
        auto s = be->new_session();
        auto ids = ids_for(ctx, model->config().vocab_size);
        auto t0 = clk::now();
        s->prefill(ids, 2048);
        double pre = std::chrono::duration<double>(clk::now() - t0).count();
        m1::GenerateOptions o;
        o.sampling.greedy = true;
        o.max_tokens = decode + 1;  // the first token comes from the prefill logits
        o.repetition_guard_tokens = 0;
        auto r = m1::generate(*s, {}, o);
        double dec = r.decode_seconds;
        json row = {{"context", ctx}, {"prefill_s", pre}, {"prefill_tok_s", double(ctx) / pre},
                    {"decode_tokens", decode}, {"decode_s", dec}, {"decode_tok_s", double(decode) / dec}};
        std::printf("%-14s %8lld %12.1f %12.2f %12.2f\n", name.c_str(), (long long)ctx, double(ctx) / pre,
                    double(decode) / dec, 1000.0 * dec / double(decode));
        std::fflush(stdout);
        out["runs"].push_back(row);
    }
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<int64_t> contexts = {1024, 8192, 32768};
    int64_t decode = 32;
    std::string json_path = "cpu_engine_bench.json";
    bool skip_100m = false, skip_demo = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
        if (a == "--contexts") contexts = m1::bench::int_list<int64_t>(next());
        else if (a == "--decode") decode = std::stoll(next());
        else if (a == "--threads") m1::set_cpu_threads(std::stoi(next()));
        else if (a == "--json") json_path = next();
        else if (a == "--skip-100m") skip_100m = true;
        else if (a == "--skip-demo") skip_demo = true;
        else {
            std::fprintf(stderr, "usage: %s [--contexts 1024,8192] [--decode N] [--threads N] [--json F] [--skip-100m] [--skip-demo]\n", argv[0]);
            return 2;
        }
    }
    json all = {{"threads", m1::cpu_threads()}, {"hardware_threads", std::thread::hardware_concurrency()},
                {"gemm", m1::cpu_gemm_name()}, {"models", json::array()}};
    std::printf("threads %d, GEMM %s; decode at each context (greedy)\n", m1::cpu_threads(), m1::cpu_gemm_name());
    std::printf("%-14s %8s %12s %12s %12s\n", "model", "context", "prefill t/s", "decode t/s", "ms/token");
    if (!skip_demo) all["models"].push_back(run("demo", m1::demo_model_dir(), contexts, decode));
    if (!skip_100m) all["models"].push_back(run("m1-shaped-100M", make_bench_model(), contexts, decode));
    std::ofstream(json_path) << all.dump(1) << "\n";
    std::printf("wrote %s\n", json_path.c_str());
    return 0;
}
