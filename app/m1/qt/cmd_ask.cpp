// `m1 ask PATH... --question Q`: ingest -> pack -> restore or prefill -> generate -> store, through the
// same AskPipeline the GUI uses. Reasoning streams to stderr, the answer to stdout; --json ends with one
// line holding session, prefilled_tokens, restored_tokens, reasoning, answer and timings.
#include <csignal>
#include <iostream>
#include <nlohmann/json.hpp>

#include "m1/cli.h"
#include "m1/model_args.h"
#include "storage/paths.h"
#include "ui/ask_pipeline.h"

namespace m1::cli {

static std::atomic<bool> g_cancel{false};
static void on_sigint(int) { g_cancel = true; }

static ui::AskOptions options_from(const Args& args) {
    ui::AskOptions o;
    o.paths = args.positional();
    o.question = args.get("question");
    if (o.question.empty()) throw UsageError("ask needs --question Q");
    o.sessionId = args.get_int("session", -1);
    if (o.sessionId < 0 && o.paths.empty()) throw UsageError("ask needs PATH... (or --session ID to continue one)");
    o.database = storage::resolveDatabasePath(args.get("db"), false);
    o.maxTokens = args.get_int("max-tokens", 512);
    if (o.maxTokens < 1) throw UsageError("--max-tokens must be >= 1");
    o.budgetTokens = args.get_int("budget", 1000000);
    o.systemPrompt = args.get("system");
    o.sampling.temperature = args.get_double("temperature", 1.0);
    o.sampling.top_p = args.get_double("top-p", 0.95);
    o.sampling.seed = static_cast<uint64_t>(args.get_int("seed", 0));
    o.sampling.greedy = args.has("greedy");
    o.prefillChunk = args.get_int("chunk", 2048);
    if (o.prefillChunk < 1) throw UsageError("--chunk must be >= 1");
    if (args.has("no-snapshots")) o.snapshots = false;
    if (args.has("password"))  // encrypted PDFs among PATH... (a folder's or archive's PDFs too)
        for (const auto& p : o.paths) o.pdfPasswords[p] = args.get("password");
    return o;
}

static int run_ask(const Args& args) {
    ui::AskOptions o = options_from(args);
    const bool json = args.has("json");
    const std::string device = device_arg(args);
    auto model = load_model_arg(args);
    std::shared_ptr<const Tokenizer> tok = Tokenizer::load(model->dir());
    ui::AskPipeline pipeline(backend_on(model, device), tok);
    ui::AskCallbacks cb;
    cb.notice = [](const std::string& s) { std::cerr << "m1: " << s << "\n"; };
    cb.restored = [](int64_t n, double s) { std::cerr << "m1: restored " << n << " tokens from a snapshot in " << s << " s\n"; };
    cb.reasoning = [](const std::string& s) { std::cerr << s << std::flush; };
    cb.answer = [json](const std::string& s) {
        if (!json) std::cout << s << std::flush;
    };
    std::signal(SIGINT, on_sigint);
    const ui::AskOutcome r = pipeline.ask(o, cb, &g_cancel);
    std::signal(SIGINT, SIG_DFL);
    if (!json) std::cout << "\n";
    std::cerr << "m1: session " << r.sessionId << ": " << r.restoredTokens << " tokens restored, " << r.prefilledTokens
              << " prefilled in " << r.prefillSeconds << " s, " << r.generatedTokens << " generated (" << r.stopReason
              << ")\n";
    if (json) {
        nlohmann::json j = {{"session", r.sessionId},
                            {"turn", r.turnId},
                            {"prompt_tokens", r.promptTokens},
                            {"prefilled_tokens", r.prefilledTokens},
                            {"restored_tokens", r.restoredTokens},
                            {"generated_tokens", r.generatedTokens},
                            {"reasoning", r.reasoning},
                            {"answer", r.answer},
                            {"stop_reason", r.stopReason},
                            {"notices", r.notices},
                            {"timings", nlohmann::json::parse(r.timingsJson())}};
        std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    }
    return r.stopReason == "cancelled" ? 130 : 0;
}

static Registrar reg({"ask",
                      "ask a question about documents; resumes from stored engine state",
                      std::string("PATH... --question Q [--model DIR] [--db FILE] [--session ID] [--max-tokens N] "
                                  "[--json] ") + kDeviceUsage,
                      with_device_flags({{"question", true, "the question"},
                                         {"model", true, "model folder (default: the embedded demo model)"},
                                         {"db", true, "database file (default: the user's data directory)"},
                                         {"session", true, "continue this session (see `m1 sessions`)"},
                                         {"max-tokens", true, "at most N generated tokens (default 512)"},
                                         {"budget", true, "context budget in tokens (default 1000000)"},
                                         {"system", true, "system prompt"},
                                         {"temperature", true, "sampling temperature (default 1.0)"},
                                         {"top-p", true, "nucleus mass (default 0.95)"},
                                         {"seed", true, "sampling seed (default 0)"},
                                         {"greedy", false, "always take the most likely token"},
                                         {"chunk", true, "prefill chunk in tokens (default 2048)"},
                                         {"no-snapshots", false, "do not store engine-state snapshots"},
                                         {"password", true, "password for encrypted PDFs among PATH..."},
                                         {"json", false, "end with one JSON line (session, token counts, reasoning, answer, timings)"}}),
                      -1,
                      run_ask,
                      55});

}  // namespace m1::cli
