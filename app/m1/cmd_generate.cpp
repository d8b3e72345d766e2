// `m1 generate`: prefill a prompt (text through the model's tokenizer, or --ids) and stream sampled
// tokens; --json ends with one line holding the ids, the text (when there is a tokenizer) and timings.
#include <csignal>
#include <filesystem>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli.h"
#include "m1/backend.h"
#include "m1/chat.h"
#include "m1/generate.h"
#include "m1/tokenizer.h"
#include "model_args.h"

namespace m1::cli {

static std::atomic<bool> g_cancel{false};
static void on_sigint(int) { g_cancel = true; }

static std::unique_ptr<Tokenizer> tokenizer_for(const std::string& dir) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::exists(fs::path(dir) / "tokenizer.json", ec) && !fs::exists(fs::path(dir) / "vocab.json", ec)) return nullptr;
    return Tokenizer::load(dir);
}

static GenerateOptions options_from(const Args& args) {
    GenerateOptions o;
    o.max_tokens = args.get_int("max-tokens", 256);
    if (o.max_tokens < 0) throw UsageError("--max-tokens must be >= 0");
    o.sampling.temperature = args.get_double("temperature", 1.0);
    o.sampling.top_p = args.get_double("top-p", 1.0);
    o.sampling.top_k = args.get_int("top-k", 0);
    o.sampling.seed = uint64_t(args.get_int("seed", 0));
    o.sampling.greedy = args.has("greedy");
    if (!(o.sampling.top_p > 0 && o.sampling.top_p <= 1)) throw UsageError("--top-p must be in (0, 1]");
    if (o.sampling.top_k < 0) throw UsageError("--top-k must be >= 0");
    for (const auto& s : args.get_all("stop-id")) o.stop_ids.push_back(int32_t(std::stol(s)));
    return o;
}

static int run_generate(const Args& args) {
    if (args.has("prompt") == args.has("ids")) throw UsageError("generate needs exactly one of --prompt S or --ids FILE");
    GenerateOptions opts = options_from(args);
    const std::string device = device_arg(args);
    bool demo = false;
    auto model = load_model_arg(args, &demo);
    auto tok = tokenizer_for(model->dir());
    std::vector<int32_t> prompt;
    if (args.has("ids")) {
        prompt = read_ids_file(args.get("ids"));
    } else {
        if (!tok) throw UsageError("--prompt needs a tokenizer in " + model->dir() + " (tokenizer.json); use --ids instead");
        std::string text = args.get("prompt");
        if (args.has("chat")) text = render_m1_chat({{"user", text, ""}}, true);
        prompt = tok->encode(text);
    }
    for (int32_t id : model->config().eos_token_ids) opts.stop_ids.push_back(id);
    if (tok)
        if (auto eos = tok->token_id("<end_of_sentence>")) opts.stop_ids.push_back(*eos);
    auto backend = backend_on(model, device);
    auto session = backend->new_session();
    const bool json_out = args.has("json");
    std::unique_ptr<StreamDecoder> dec = tok ? std::make_unique<StreamDecoder>(*tok) : nullptr;
    auto on_token = [&](int32_t id) {
        if (dec)
            std::cout << dec->feed(id);
        else
            std::cout << id << ' ';
        std::cout.flush();
        return true;
    };
    std::signal(SIGINT, on_sigint);
    GenerateResult r = generate(*session, prompt, opts, on_token, &g_cancel);
    std::signal(SIGINT, SIG_DFL);
    if (dec) std::cout << dec->finish();
    std::cout << "\n";
    const double dec_rate = r.decode_seconds > 0 ? double(r.ids.size()) / r.decode_seconds : 0;
    const double pre_rate = r.prefill_seconds > 0 ? double(r.prompt_tokens) / r.prefill_seconds : 0;
    std::cerr << "m1: " << r.prompt_tokens << " prompt tokens (" << pre_rate << " tok/s), " << r.ids.size()
              << " generated (" << dec_rate << " tok/s), stop: " << stop_reason_name(r.reason) << " [" << backend->device()
              << "]\n";
    if (json_out) {
        nlohmann::json j;
        j["ids"] = r.ids;
        if (tok) j["text"] = tok->decode(r.ids);
        j["prompt_tokens"] = r.prompt_tokens;
        j["generated_tokens"] = r.ids.size();
        j["stop_reason"] = stop_reason_name(r.reason);
        j["prefill_seconds"] = r.prefill_seconds;
        j["decode_seconds"] = r.decode_seconds;
        j["prefill_tokens_per_second"] = pre_rate;
        j["decode_tokens_per_second"] = dec_rate;
        j["device"] = backend->device();
        j["model_fingerprint"] = model->fingerprint();
        j["demo_model"] = demo;
        std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    }
    return r.reason == StopReason::Cancelled ? 130 : 0;
}

static Registrar reg({"generate",
                      "generate text from a prompt (streams tokens; --json ends with ids, text and timings)",
                      std::string("--model DIR (--prompt S | --ids FILE) [--chat] [--max-tokens N] [--temperature T] "
                                  "[--top-p P] [--top-k K] [--seed S] [--greedy] [--json] ") + kDeviceUsage,
                      with_device_flags({{"model", true, "model folder; default: the demo model"},
                                         {"prompt", true, "prompt text (needs the model's tokenizer)"},
                                         {"ids", true, "file of whitespace-separated prompt token ids"},
                                         {"chat", false, "wrap --prompt in the M1 chat format as one user turn"},
                                         {"max-tokens", true, "most tokens to generate (default 256)"},
                                         {"temperature", true, "sampling temperature (default 1.0)"},
                                         {"top-p", true, "nucleus sampling mass (default 1.0 = off; M1 recommends 0.95)"},
                                         {"top-k", true, "keep the K most likely tokens (default 0 = off)"},
                                         {"seed", true, "random seed (default 0)"},
                                         {"greedy", false, "always take the most likely token"},
                                         {"stop-id", true, "stop after this token id (repeatable)", true},
                                         {"json", false, "end with one JSON line: ids, text, timings"}}),
                      0,
                      run_generate,
                      31});

}  // namespace m1::cli
