// `m1 sessions`: the stored sessions, newest first, with their turns' questions.
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>

#include "m1/cli.h"
#include "storage/paths.h"
#include "storage/sessions.h"

namespace m1::cli {

static std::string local_time(int64_t ms) {
    std::time_t t = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    localtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
    return buf;
}

static int run_sessions(const Args& args) {
    storage::Database db(storage::resolveDatabasePath(args.get("db"), true));
    storage::Sessions sessions(db);
    const auto all = sessions.list();
    if (args.has("json")) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& s : all) {
            nlohmann::json turns = nlohmann::json::array();
            for (const auto& t : sessions.turns(s.id))
                turns.push_back({{"question", t.question}, {"answer", t.answer}, {"stop_reason", t.stopReason},
                                 {"prefilled_tokens", t.prefilledTokens}, {"restored_tokens", t.restoredTokens},
                                 {"generated_tokens", t.generatedTokens}});
            out.push_back({{"session", s.id}, {"title", s.title}, {"model", s.modelFingerprint},
                           {"corpus", s.corpusId ? nlohmann::json(*s.corpusId) : nlohmann::json()},
                           {"created", s.created}, {"updated", s.updated}, {"turns", turns}});
        }
        std::cout << out.dump() << "\n";
        return 0;
    }
    if (all.empty()) {
        std::cout << "no sessions yet in " << db.path() << "\n";
        return 0;
    }
    for (const auto& s : all) {
        std::cout << "session " << s.id << "  " << local_time(s.updated) << "  " << s.turnCount
                  << (s.turnCount == 1 ? " turn  " : " turns  ") << s.title << "\n";
        for (const auto& t : sessions.turns(s.id)) std::cout << "  " << (t.position + 1) << ". " << t.question << "\n";
    }
    std::cout << "continue one with: m1 ask PATH... --session ID --question Q\n";
    return 0;
}

static Registrar reg({"sessions",
                      "list stored sessions and their questions",
                      "[--db FILE] [--json]",
                      {{"db", true, "database file (default: the user's data directory)"},
                       {"json", false, "print one JSON array"}},
                      0,
                      run_sessions,
                      62});

}  // namespace m1::cli
