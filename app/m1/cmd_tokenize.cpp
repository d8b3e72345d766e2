// `m1 tokenize`: prints the token ids of a text (plain, or {"ids": [...], "count": N} with --json).
// Without --tokenizer the embedded demo model's tokenizer is used (said on stderr).
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli.h"
#include "m1/model.h"
#include "m1/tokenizer.h"

namespace m1::cli {

// Shared with cmd_detokenize.cpp.
std::unique_ptr<Tokenizer> tokenizer_from_args(const Args& a) {
    if (a.has("tokenizer")) return Tokenizer::load(a.get("tokenizer"));
    const std::string dir = demo_model_dir();
    std::cerr << "m1: no --tokenizer given: using the demo model's tokenizer (" << dir << "/tokenizer.json)\n";
    return Tokenizer::load(dir + "/tokenizer.json");
}

static int run_tokenize(const Args& a) {
    if (a.has("text") == a.has("text-file")) throw UsageError("give exactly one of --text S or --text-file F");
    std::string text = a.get("text");
    if (a.has("text-file")) {
        std::ifstream f(a.get("text-file"), std::ios::binary);
        if (!f) {
            std::cerr << "m1 tokenize: cannot read " << a.get("text-file") << "\n";
            return 1;
        }
        std::ostringstream ss;
        ss << f.rdbuf();
        text = ss.str();
    }
    try {
        const auto tok = tokenizer_from_args(a);
        const std::vector<int32_t> ids = tok->encode(text);
        std::ostringstream out;
        if (a.has("json")) out << "{\"ids\": [";
        for (size_t i = 0; i < ids.size(); ++i) out << (i ? (a.has("json") ? ", " : " ") : "") << ids[i];
        if (a.has("json")) out << "], \"count\": " << ids.size() << "}";
        std::cout << out.str() << "\n";
    } catch (const std::exception& e) {
        std::cerr << "m1 tokenize: " << e.what() << "\n";
        return 1;
    }
    return 0;
}

static Registrar reg({"tokenize",
                      "print the token ids of a text",
                      "[--tokenizer FILE|DIR] (--text S | --text-file F) [--json]",
                      {{"tokenizer", true, "tokenizer.json, or a folder with it or with vocab.json + merges.txt"},
                       {"text", true, "the text"},
                       {"text-file", true, "read the text from this file (bytes as they are)"},
                       {"json", false, "print {\"ids\": [...], \"count\": N}"}},
                      0,
                      run_tokenize,
                      40});

}  // namespace m1::cli
