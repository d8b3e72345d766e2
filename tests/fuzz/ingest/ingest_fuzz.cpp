// Fuzzing ingest's untrusted-input entry points: archives (in process: our code + libarchive), the PDF
// worker's answer as the parent reads it (document_from_json), and PDFs (through the sandboxed worker in
// the bounded ctest loop; in process under libFuzzer). The first input byte picks the target.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "ingest/ingest.h"
#include "ingest/pdf_extract.h"
#include "tools/make_ingest_fixtures.h"

using namespace m1::ingest;

static IngestOptions fuzz_options(bool pdf_in_process) {
    IngestOptions o;
    o.pdf_in_process = pdf_in_process;
    o.pdf_timeout_ms = 5000;
    o.max_archive_bytes = 64ull << 20;
    o.max_file_bytes = 8ull << 20;
    o.max_archive_entries = 2000;
    return o;
}

// Returns false when an invariant broke (a throw escaping, a rejected document without a reason).
static bool run_one(const uint8_t* data, size_t size, bool pdf_in_process) {
    if (size == 0) return true;
    std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
    try {
        switch (data[0] % 3) {
            case 0: {  // archive (or whatever the bytes turn out to be)
                Document d = ingest_bytes("fuzz.zip", body, fuzz_options(true));
                if (d.status == DocStatus::Rejected && d.warnings.empty()) return false;
                break;
            }
            case 1: {  // PDF
                Document d = ingest_bytes("fuzz.pdf", "%PDF-" + body, fuzz_options(pdf_in_process));
                if (d.status == DocStatus::Rejected && d.warnings.empty()) return false;
                break;
            }
            default:  // the worker's answer, as the parent parses it
                try {
                    (void)document_from_json(body);
                } catch (const std::exception&) {  // malformed answers are expected to throw, and only that
                }
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "exception escaped: %s\n", e.what());
        return false;
    }
    return true;
}

#ifdef M1_LIBFUZZER
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (!run_one(data, size, true)) std::abort();
    return 0;
}
#else
#include <gtest/gtest.h>

static std::vector<std::string> seeds() {
    using m1::fixtures::Entry;
    std::vector<Entry> e{{Entry::File, "a.txt", "alpha beta\n", ""}, {Entry::File, "d/b.md", "# B\n", ""},
                         {Entry::Symlink, "l", "", "../x"}};
    std::string pdf = m1::fixtures::manual_pdf({"one", "two", "three"}, 1);
    Document doc;
    doc.sections.push_back({"", 1, "i", "text", false});
    doc.outline.push_back({"t", 1, 0});
    return {std::string(1, '\0') + m1::fixtures::make_archive(e, "zip"),
            std::string(1, '\0') + m1::fixtures::make_archive(e, "tar", "gzip"),
            std::string(1, '\0') + m1::fixtures::make_archive(e, "7z"),
            std::string(1, '\0') + m1::fixtures::make_archive({{Entry::File, "in.zip", m1::fixtures::make_archive(e), ""}}),
            std::string(1, '\1') + pdf.substr(5),
            std::string(1, '\2') + document_to_json(doc)};
}

static void mutate(std::string& s, std::mt19937_64& rng) {
    auto pick = [&](size_t n) { return n ? static_cast<size_t>(rng() % n) : 0; };
    int ops = 1 + static_cast<int>(rng() % 8);
    for (int k = 0; k < ops && s.size() > 1; ++k) {
        size_t at = 1 + pick(s.size() - 1);
        switch (rng() % 6) {
            case 0: s[at] = static_cast<char>(s[at] ^ (1 << (rng() % 8))); break;
            case 1: s[at] = static_cast<char>(rng()); break;
            case 2: s.erase(at, 1 + pick(std::min<size_t>(64, s.size() - at))); break;
            case 3: s.insert(at, std::string(1 + pick(32), static_cast<char>(rng()))); break;
            case 4: s.resize(at); break;  // truncate
            default: {  // duplicate a slice (overlapping structures, repeated headers)
                size_t len = 1 + pick(std::min<size_t>(256, s.size() - at));
                s.insert(1 + pick(s.size() - 1), s.substr(at, len));
            }
        }
    }
}

TEST(IngestFuzz, BoundedMutationLoop) {
    double seconds = 15;
    if (const char* env = std::getenv("M1_FUZZ_SECONDS")) seconds = std::atof(env);
    auto corpus = seeds();
    std::mt19937_64 rng(20240601);  // fixed: a failure is reproducible from the iteration number
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    long iters[3] = {0, 0, 0};
    for (long i = 0; std::chrono::steady_clock::now() < end; ++i) {
        std::string input = corpus[static_cast<size_t>(rng() % corpus.size())];
        mutate(input, rng);
        // PDFs go through the worker (a process start each): run fewer of them.
        if (input[0] % 3 == 1 && (i % 8) != 0) continue;
        ASSERT_TRUE(run_one(reinterpret_cast<const uint8_t*>(input.data()), input.size(), false))
            << "invariant broken at iteration " << i << " (target " << input[0] % 3 << ")";
        ++iters[input[0] % 3];
    }
    std::printf("fuzz: %ld archive, %ld pdf, %ld worker-answer inputs in %.0f s, no crash\n", iters[0], iters[1],
                iters[2], seconds);
    EXPECT_GT(iters[0], 0);
    EXPECT_GT(iters[1], 0);
    EXPECT_GT(iters[2], 0);
}
#endif
