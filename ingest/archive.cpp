// Archives through libarchive, entirely in memory: zip, tar (+gz/bz2/xz/zst), 7z, rar, and single
// compressed files. Entry names are made UTF-8 and safe; links are never followed; bombs stop at the
// decompressed-bytes budget or the compression-ratio limit, naming the entry.
#include <archive.h>
#include <archive_entry.h>

#include <cstring>
#include <memory>

#include "ingest/container.h"
#include "ingest/text_formats.h"

namespace m1::ingest {

namespace {

struct ArchiveCloser {
    void operator()(archive* a) const { archive_read_free(a); }
};

std::string entry_name(archive_entry* e) {
    const char* u = archive_entry_pathname_utf8(e);
    std::string raw = u ? u : (archive_entry_pathname(e) ? archive_entry_pathname(e) : "");
    return sanitize_member_path(to_valid_utf8(raw));
}

// Reads one entry's data, counting every decompressed byte against the budgets. Returns false when
// the whole input must stop (budget or ratio); `data` holds at most max_file_bytes.
bool read_entry(archive* a, ContainerBuilder& b, const std::string& rel, std::string& data, bool& too_large,
                uint64_t& level_bytes) {
    const IngestOptions& o = b.options();
    char buf[1 << 16];
    for (;;) {
        if (b.cancelled()) return false;
        la_ssize_t n = archive_read_data(a, buf, sizeof buf);
        if (n == 0) return true;
        if (n < 0) {
            b.doc().warn(rel + ": damaged entry (" + std::string(archive_error_string(a) ? archive_error_string(a) : "read error") + ")");
            data.clear();
            return true;
        }
        b.decompressed += static_cast<uint64_t>(n);
        level_bytes += static_cast<uint64_t>(n);
        if (b.decompressed > o.max_archive_bytes) {
            b.stop("archive expands past the budget of " + std::to_string(o.max_archive_bytes >> 20) +
                   " MiB at entry " + rel + " (zip bomb?); reading stopped");
            return false;
        }
        int64_t compressed = std::max<int64_t>(archive_filter_bytes(a, -1), 1);
        if (o.max_archive_ratio > 0 && level_bytes > o.ratio_min_bytes &&
            static_cast<double>(level_bytes) / static_cast<double>(compressed) > o.max_archive_ratio) {
            b.stop("compression ratio over " + std::to_string(static_cast<int>(o.max_archive_ratio)) +
                   ":1 at entry " + rel + " (zip bomb?); reading stopped");
            return false;
        }
        // Past the per-file limit keep draining (and counting) rather than skipping: a skip would
        // decompress unbounded data that no budget sees.
        if (data.size() + static_cast<size_t>(n) > o.max_file_bytes) too_large = true;
        if (!too_large) data.append(buf, static_cast<size_t>(n));
    }
}

}  // namespace

void read_archive(ContainerBuilder& b, const std::string& path, const std::string& bytes, const std::string& prefix,
                  int depth) {
    std::unique_ptr<archive, ArchiveCloser> a(archive_read_new());
    archive_read_support_filter_all(a.get());
    archive_read_support_format_all(a.get());
    archive_read_support_format_raw(a.get());  // a lone .gz/.xz/.bz2 file
    int rc = path.empty() ? archive_read_open_memory(a.get(), bytes.data(), bytes.size())
                          : archive_read_open_filename(a.get(), path.c_str(), 1 << 16);
    const std::string where = prefix.empty() ? std::string("archive") : prefix;
    if (rc != ARCHIVE_OK) {
        b.doc().warn(where + ": cannot be read as an archive (" +
                     std::string(archive_error_string(a.get()) ? archive_error_string(a.get()) : "unknown format") + ")");
        return;
    }
    uint64_t level_bytes = 0;
    int retries = 0;
    for (;;) {
        if (b.stopped()) return;
        archive_entry* e = nullptr;
        rc = archive_read_next_header(a.get(), &e);
        if (rc == ARCHIVE_EOF) break;
        if (rc == ARCHIVE_RETRY && ++retries < 8) continue;
        if (rc < ARCHIVE_WARN) {
            b.doc().warn(where + ": damaged archive, reading stopped (" +
                         std::string(archive_error_string(a.get()) ? archive_error_string(a.get()) : "error") + ")");
            break;
        }
        if (++b.entries > b.options().max_archive_entries) {
            b.stop(where + ": more than " + std::to_string(b.options().max_archive_entries) +
                   " entries; the rest were left out");
            return;
        }
        std::string name = entry_name(e);
        if (archive_format(a.get()) == ARCHIVE_FORMAT_RAW) {  // a compressed single file: name it after the archive
            std::string base = prefix.empty() ? path.substr(path.find_last_of('/') + 1) : prefix;
            for (const char* ext : {".gz", ".bz2", ".xz", ".zst", ".lz4", ".Z"})
                if (base.size() > std::strlen(ext) && base.ends_with(ext)) base.resize(base.size() - std::strlen(ext));
            name = sanitize_member_path(base);
        }
        std::string rel = prefix.empty() ? name : prefix + "/" + name;
        if (archive_entry_hardlink(e)) {
            b.skip("hard link", rel);
            continue;
        }
        auto type = archive_entry_filetype(e);
        if (type == AE_IFLNK) {
            b.skip("symbolic link", rel);
            continue;
        }
        if (type != AE_IFREG) continue;  // directories, devices, fifos
        std::string data;
        bool too_large = false;
        if (!read_entry(a.get(), b, rel, data, too_large, level_bytes)) return;
        if (too_large) {
            b.skip("larger than " + std::to_string(b.options().max_file_bytes >> 20) + " MiB", rel);
            continue;
        }
        b.add_file(rel, data, depth);
    }
}

}  // namespace m1::ingest
