// `m1 pack PATH... --out FILE`: ingests the inputs and writes the packed prompt to FILE, its token map to
// FILE.map.json (and the token ids to FILE.ids with a tokenizer); prints the totals and the budget report.
#include <fstream>
#include <iostream>

#include "ingest/packer.h"
#include "ingest_args.h"

namespace m1::cli {

static void write_text(const std::string& path, const std::string& bytes) {
    std::ofstream f(path, std::ios::binary);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!f) throw std::runtime_error("cannot write " + path);
}

static int run_pack(const Args& args) {
    if (args.positional().empty()) throw UsageError("give at least one PATH");
    if (!args.has("out")) throw UsageError("--out FILE is required");
    ingest::PackOptions po;
    po.budget_tokens = args.get_int("budget", 1000000);
    po.reserved_output = args.get_int("reserve", 32768);
    auto policy = ingest::parse_policy(args.get("policy", "refuse"));
    if (!policy) throw UsageError("--policy must be refuse, drop or trim");
    po.policy = *policy;
    if (po.budget_tokens <= po.reserved_output) throw UsageError("--budget must be larger than --reserve");
    auto tok = tokenizer_from(args);
    auto docs = ingest::ingest_paths(args.positional(), ingest_options_from(args));
    auto r = ingest::pack(docs, args.get("question"), po, tok.get());
    const std::string out = args.get("out");
    for (const auto& line : r.report) std::cerr << "pack: " << line << "\n";
    if (!r.ok) {
        std::cerr << "pack: nothing written\n";
        return 1;
    }
    write_text(out, r.text);
    write_text(out + ".map.json", r.map_json());
    if (tok) {
        std::string ids;
        for (int32_t id : r.token_ids) ids += std::to_string(id) + "\n";
        write_text(out + ".ids", ids);
    }
    int kept = 0;
    for (const auto& d : r.documents) kept += d.fate != "dropped";
    std::cout << "documents: " << kept << " packed of " << docs.size() << "\n"
              << "tokens: " << r.total_tokens << " of a budget of " << r.budget_tokens << " (" << r.tokenizer_label
              << ")\nbytes: " << r.text.size() << "\nwrote: " << out << ", " << out << ".map.json"
              << (tok ? ", " + out + ".ids" : std::string()) << "\n";
    return 0;
}

static Command make_command() {
    auto flags = ingest_flags();
    flags.push_back({"out", true, "file for the packed text (the map goes to FILE.map.json)"});
    flags.push_back({"budget", true, "context tokens (default 1000000)"});
    flags.push_back({"reserve", true, "tokens kept free for the answer (default 32768)"});
    flags.push_back({"policy", true, "when over budget: refuse (default), drop the last documents, trim evenly"});
    flags.push_back({"question", true, "the question placed after the documents"});
    return {"pack", "pack documents into one prompt with a token map",
            "PATH... --out FILE [--budget N] [--model DIR] [--policy refuse|drop|trim] [--question Q]", flags, -1,
            run_pack, 41};
}
static Registrar reg(make_command());

}  // namespace m1::cli
