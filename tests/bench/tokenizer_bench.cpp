// Tokenizer throughput: validates that encoding on all threads (text cut into chunks) gives the same
// ids as one thread, then times both (median of --reps runs) and prints MB/s and tokens/s, plus an
// FNV-1a hash of the ids so the HF tokenizers run on the same text can be compared.
// Usage: tokenizer_bench --tokenizer FILE --text FILE [--threads N] [--reps R] [--json OUT] [--name S] [--ids-out FILE]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "m1/tokenizer.h"

namespace {

uint64_t fnv1a(const std::vector<int32_t>& ids) {
    uint64_t h = 1469598103934665603ull;
    for (int32_t id : ids)
        for (int k = 0; k < 4; ++k) {
            h ^= (static_cast<uint32_t>(id) >> (8 * k)) & 0xFF;
            h *= 1099511628211ull;
        }
    return h;
}

std::string arg(int argc, char** argv, const char* name, const std::string& fallback) {
    for (int i = 1; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
    return fallback;
}

struct Timing {
    double median_s;
    size_t tokens;
};

Timing time_encode(const m1::Tokenizer& tok, const std::string& text, int reps) {
    std::vector<double> s;
    size_t n = 0;
    for (int r = 0; r < reps; ++r) {
        auto t0 = std::chrono::steady_clock::now();
        n = tok.encode(text).size();
        s.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(s.begin(), s.end());
    return {s[s.size() / 2], n};
}

}  // namespace

int main(int argc, char** argv) {
    const std::string tok_path = arg(argc, argv, "--tokenizer", ""), text_path = arg(argc, argv, "--text", "");
    if (tok_path.empty() || text_path.empty()) {
        std::cerr << "usage: tokenizer_bench --tokenizer FILE --text FILE [--threads N] [--reps R] [--json OUT] [--name S]\n";
        return 2;
    }
    const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const int threads = std::stoi(arg(argc, argv, "--threads", std::to_string(hw)));
    const int reps = std::stoi(arg(argc, argv, "--reps", "5"));
    const std::string name = arg(argc, argv, "--name", tok_path);
    std::ifstream f(text_path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    const std::string text = ss.str();

    auto t0 = std::chrono::steady_clock::now();
    auto tok = m1::Tokenizer::load(tok_path);
    const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    // Validate: chunked parallel encoding must equal the single-thread result.
    tok->set_threads(1);
    const std::vector<int32_t> serial = tok->encode(text);
    tok->set_threads(threads);
    const std::vector<int32_t> parallel = tok->encode(text);
    const bool same = serial == parallel;
    const bool roundtrip = tok->decode(serial) == text;

    tok->set_threads(1);
    const Timing one = time_encode(*tok, text, reps);
    tok->set_threads(threads);
    const Timing all = time_encode(*tok, text, reps);
    const double mb = static_cast<double>(text.size()) / 1e6;
    std::printf("%s: %.2f MB, %zu tokens, fnv64 %016llx, load %.2f s, parallel==serial %s, decode round-trip %s\n",
                name.c_str(), mb, serial.size(), static_cast<unsigned long long>(fnv1a(serial)), load_s,
                same ? "yes" : "NO", roundtrip ? "yes" : "no");
    std::printf("  %-10s %8s %10s %12s\n", "threads", "s", "MB/s", "tokens/s");
    std::printf("  %-10d %8.3f %10.1f %12.0f\n", 1, one.median_s, mb / one.median_s, double(one.tokens) / one.median_s);
    std::printf("  %-10d %8.3f %10.1f %12.0f\n", threads, all.median_s, mb / all.median_s, double(all.tokens) / all.median_s);
    if (const std::string ids_out = arg(argc, argv, "--ids-out", ""); !ids_out.empty()) {
        std::ofstream o(ids_out, std::ios::binary);  // int32 little-endian, for diffing against HF
        o.write(reinterpret_cast<const char*>(serial.data()), std::streamsize(serial.size() * sizeof(int32_t)));
    }
    const std::string json = arg(argc, argv, "--json", "");
    if (!json.empty()) {
        std::ofstream o(json);
        o << "{\"name\": \"" << name << "\", \"bytes\": " << text.size() << ", \"tokens\": " << serial.size()
          << ", \"fnv64\": \"" << std::hex << fnv1a(serial) << std::dec << "\", \"parallel_equals_serial\": "
          << (same ? "true" : "false") << ", \"threads\": " << threads << ", \"s_1thread\": " << one.median_s
          << ", \"s_all\": " << all.median_s << ", \"mb_per_s_1thread\": " << mb / one.median_s
          << ", \"mb_per_s_all\": " << mb / all.median_s << "}\n";
    }
    return same ? 0 : 1;
}
