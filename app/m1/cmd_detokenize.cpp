// `m1 detokenize`: prints the text of token ids (given as --ids "1 2 3" or in a file, separated by
// whitespace or commas). Without --tokenizer the demo model's tokenizer is used.
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli.h"
#include "m1/tokenizer.h"

namespace m1::cli {

std::unique_ptr<Tokenizer> tokenizer_from_args(const Args& a);  // cmd_tokenize.cpp

static std::vector<int32_t> parse_ids(std::string s) {
    for (char& c : s)
        if (c == ',' || c == '[' || c == ']') c = ' ';
    std::istringstream in(s);
    std::vector<int32_t> ids;
    std::string w;
    while (in >> w) {
        size_t used = 0;
        long long v = 0;
        try {
            v = std::stoll(w, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used != w.size() || v < 0 || v > INT32_MAX) throw UsageError("not a token id: \"" + w + "\"");
        ids.push_back(static_cast<int32_t>(v));
    }
    return ids;
}

static int run_detokenize(const Args& a) {
    if (a.has("ids") == a.has("ids-file")) throw UsageError("give exactly one of --ids \"1 2 3\" or --ids-file F");
    std::string text = a.get("ids");
    if (a.has("ids-file")) {
        std::ifstream f(a.get("ids-file"));
        if (!f) {
            std::cerr << "m1 detokenize: cannot read " << a.get("ids-file") << "\n";
            return 1;
        }
        std::ostringstream ss;
        ss << f.rdbuf();
        text = ss.str();
    }
    const std::vector<int32_t> ids = parse_ids(text);
    try {
        const auto tok = tokenizer_from_args(a);
        for (int32_t id : ids)
            if (static_cast<size_t>(id) >= tok->vocab_size()) {
                std::cerr << "m1 detokenize: id " << id << " is outside the vocabulary (0.." << tok->vocab_size() - 1 << ")\n";
                return 1;
            }
        std::cout << tok->decode(ids, a.has("skip-special"));
        if (!a.has("no-newline")) std::cout << "\n";
    } catch (const std::exception& e) {
        std::cerr << "m1 detokenize: " << e.what() << "\n";
        return 1;
    }
    return 0;
}

static Registrar reg({"detokenize",
                      "print the text of token ids",
                      "[--tokenizer FILE|DIR] (--ids \"1 2 3\" | --ids-file F) [--skip-special] [--no-newline]",
                      {{"tokenizer", true, "tokenizer.json, or a folder with it or with vocab.json + merges.txt"},
                       {"ids", true, "token ids separated by spaces or commas"},
                       {"ids-file", true, "read the ids from this file"},
                       {"skip-special", false, "leave out special tokens"},
                       {"no-newline", false, "do not end the output with a newline"}},
                      0,
                      run_detokenize,
                      41});

}  // namespace m1::cli
