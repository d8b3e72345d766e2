// Public entry points of ingest: turn files, folders and archives into Documents. Every input is
// untrusted: limits below bound time, memory and output; PDFs are parsed in a child process.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ingest/document.h"

namespace m1::ingest {

struct IngestOptions {
    std::string pdf_password;           // tried as user and owner password on encrypted PDFs
    int pdf_timeout_ms = 120000;        // per PDF; the child process is killed past it
    uint64_t pdf_memory_mb = 3072;      // address-space limit of the PDF child process
    bool pdf_in_process = false;        // parse PDFs in this process (fuzzing, benchmarks); no isolation
    bool drop_running_headers = true;   // PDF headers/footers repeated on most pages
    uint64_t max_file_bytes = 64ull << 20;     // one file or archive entry; larger ones are skipped with a warning
    uint64_t max_total_bytes = 1ull << 30;     // text bytes taken per input path (folder/archive), then stop
    uint64_t max_archive_bytes = 1ull << 30;   // bytes decompressed per top-level archive (bomb budget)
    double max_archive_ratio = 200.0;          // decompressed/compressed bytes; past it the archive is a bomb
    uint64_t ratio_min_bytes = 8ull << 20;     // the ratio check applies once this much was decompressed
    int max_archive_entries = 100000;          // entries per archive (nested ones count too)
    int max_archive_depth = 8;                 // archives inside archives
    int max_folder_files = 200000;             // files looked at per folder
    bool respect_gitignore = true;             // .gitignore files and the default ignore list
    int threads = 0;                           // 0: one per core (at most 8)
};

struct IngestProgress {
    int done = 0;          // inputs finished
    int total = 0;         // inputs given
    std::string current;   // path being read
};
// Called from worker threads (serialized: never two calls at once).
using IngestProgressFn = std::function<void(const IngestProgress&)>;

// One Document per path, in the order given. Never throws on bad input: problems become warnings or a
// rejected Document. When `cancel` becomes true, unfinished inputs come back rejected ("cancelled").
std::vector<Document> ingest_paths(const std::vector<std::string>& paths, const IngestOptions& options = {},
                                   IngestProgressFn progress = {}, const std::atomic<bool>* cancel = nullptr);

// One path (file, folder or archive).
Document ingest_path(const std::string& path, const IngestOptions& options = {},
                     const std::atomic<bool>* cancel = nullptr);

// Bytes already in memory (a dropped buffer, an archive entry); `name` picks the format with the content.
Document ingest_bytes(const std::string& name, const std::string& bytes, const IngestOptions& options = {});

// Format detection by name and content (magic bytes first).
DocKind detect_kind(const std::string& name, const std::string& head);

}  // namespace m1::ingest
