// Ingest throughput: pages/s on a generated 1,000-page PDF (sandboxed worker and in process, with Poppler's
// own page->text() as the peer) and MB/s on a source tree (default /usr/include, >= 50 MB; peer: reading
// the same files raw), and the packer's tokens/s with the demo tokenizer. Validates first, then times
// (median of runs), prints a table and writes JSON (--json FILE).
#include <poppler-qt6.h>

#include <QTemporaryDir>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "ingest/ingest.h"
#include "ingest/packer.h"
#include "m1/model.h"
#include "m1/tokenizer.h"
#include "tools/make_ingest_fixtures.h"

using namespace m1::ingest;
namespace fs = std::filesystem;

static double median_seconds(int runs, const std::function<void()>& fn) {
    std::vector<double> t;
    for (int i = 0; i < runs; ++i) {
        auto a = std::chrono::steady_clock::now();
        fn();
        t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count());
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

static std::string page_line(int page, int line) {
    return "Page " + std::to_string(page) + " line " + std::to_string(line) +
           ": the quick brown fox jumps over the lazy dog while the committee reviews clause " +
           std::to_string(page * 100 + line) + ".";
}

int main(int argc, char** argv) {
    std::string tree = "/usr/include", json_out;
    int pages = 1000, runs = 3;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string a = argv[i];
        if (a == "--tree") tree = argv[i + 1];
        else if (a == "--json") json_out = argv[i + 1];
        else if (a == "--pages") pages = std::atoi(argv[i + 1]);
        else if (a == "--runs") runs = std::atoi(argv[i + 1]);
    }
    m1::fixtures::ensure_gui_app();
    QTemporaryDir tmp;
    std::string pdf = tmp.path().toStdString() + "/book.pdf";
    std::vector<m1::fixtures::PdfPage> spec;
    for (int p = 1; p <= pages; ++p) {
        m1::fixtures::PdfPage pg;
        for (int l = 1; l <= 45; ++l) pg.left.push_back(page_line(p, l));
        spec.push_back(pg);
    }
    auto g0 = std::chrono::steady_clock::now();
    m1::fixtures::write_pdf_qt(pdf, spec, "Benchmark Book");
    double gen_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - g0).count();

    // Validate: every page there, a known line on a middle page, headers dropped.
    Document d = ingest_path(pdf);
    int mid = pages / 2;
    if (d.page_count != pages || static_cast<int>(d.sections.size()) != pages ||
        d.sections[static_cast<size_t>(mid - 1)].text.find(page_line(mid, 45)) == std::string::npos ||
        d.sections[0].text.find("Journal") != std::string::npos) {
        std::fprintf(stderr, "validation failed: %d pages, %zu sections\n", d.page_count, d.sections.size());
        return 1;
    }
    double worker_s = median_seconds(runs, [&] { ingest_path(pdf); });
    IngestOptions inproc;
    inproc.pdf_in_process = true;
    double inproc_s = median_seconds(runs, [&] { ingest_path(pdf, inproc); });
    double peer_s = median_seconds(runs, [&] {
        auto doc = Poppler::Document::load(QString::fromStdString(pdf));
        size_t chars = 0;
        for (int i = 0; i < doc->numPages(); ++i) chars += static_cast<size_t>(std::unique_ptr<Poppler::Page>(doc->page(i))->text(QRectF()).size());
        if (chars == 0) std::abort();
    });

    // Source tree.
    Document t = ingest_path(tree);
    if (t.status == DocStatus::Rejected || t.sections.empty()) {
        std::fprintf(stderr, "tree %s: nothing read\n", tree.c_str());
        return 1;
    }
    uint64_t tree_bytes = t.source_bytes;
    double tree_s = median_seconds(runs, [&] { ingest_path(tree); });
    double raw_s = median_seconds(runs, [&] {
        uint64_t n = 0;
        std::vector<char> buf(1 << 20);
        for (auto it = fs::recursive_directory_iterator(tree, fs::directory_options::skip_permission_denied);
             it != fs::recursive_directory_iterator(); ++it) {
            if (!it->is_regular_file() || it->is_symlink()) continue;
            std::ifstream f(it->path(), std::ios::binary);
            while (f.read(buf.data(), static_cast<std::streamsize>(buf.size())) || f.gcount() > 0)
                n += static_cast<uint64_t>(f.gcount());
        }
        if (n == 0) std::abort();
    });

    // Packing with the demo tokenizer (when the build has it).
    double pack_s = 0, tokens = 0;
    try {
        auto tok = m1::Tokenizer::load(m1::demo_model_dir());
        PackOptions po;
        po.budget_tokens = 1ll << 40;
        PackResult r;
        pack_s = median_seconds(runs, [&] { r = pack({d}, "Summarize.", po, tok.get()); });
        tokens = static_cast<double>(r.total_tokens);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "pack benchmark skipped: %s\n", e.what());
    }

    double mb = static_cast<double>(tree_bytes) / 1e6;
    std::printf("ingest benchmark (median of %d runs)\n", runs);
    std::printf("%-44s %12s %14s\n", "case", "seconds", "rate");
    std::printf("%-44s %12.3f %10.0f pages/s\n", "PDF 1000 pages, sandboxed worker (ours)", worker_s, pages / worker_s);
    std::printf("%-44s %12.3f %10.0f pages/s\n", "PDF, in process (ours, no isolation)", inproc_s, pages / inproc_s);
    std::printf("%-44s %12.3f %10.0f pages/s\n", "PDF, Poppler page->text() (peer)", peer_s, pages / peer_s);
    std::printf("%-44s %12.3f %10.1f MB/s  (%.1f MB, %zu files)\n", ("tree " + tree + " (ours)").c_str(), tree_s,
                mb / tree_s, mb, static_cast<size_t>(t.files()));
    std::printf("%-44s %12.3f %10.1f MB/s\n", "tree, raw read of all files (peer)", raw_s, mb / raw_s);
    if (pack_s > 0) std::printf("%-44s %12.3f %10.0f tokens/s (%.0f tokens)\n", "pack the 1000-page PDF, demo tokenizer", pack_s, tokens / pack_s, tokens);
    std::printf("(PDF generation with QPdfWriter: %.2f s; rate = pages / seconds, MB/s = bytes read / 1e6 / seconds)\n", gen_s);
    if (!json_out.empty()) {
        nlohmann::json j = {{"pdf_pages", pages}, {"pdf_worker_s", worker_s}, {"pdf_inprocess_s", inproc_s},
                            {"pdf_poppler_text_s", peer_s}, {"tree", tree}, {"tree_bytes", tree_bytes},
                            {"tree_files", t.files()}, {"tree_s", tree_s}, {"tree_raw_read_s", raw_s},
                            {"pack_s", pack_s}, {"pack_tokens", tokens}, {"runs", runs}};
        std::ofstream(json_out) << j.dump(2) << "\n";
    }
    return 0;
}
