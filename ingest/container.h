// Builds the Document of a folder or an archive: members are added one by one (text, PDF pages,
// nested archives), skipped ones are counted by reason, and the file tree and summary warnings are
// made at the end. Shared budgets (total bytes, archive entries, decompressed bytes) live here too.
#pragma once
#include <atomic>
#include <map>
#include <string>
#include <vector>

#include "ingest/document.h"
#include "ingest/ingest.h"

namespace m1::ingest {

class ContainerBuilder {
public:
    ContainerBuilder(Document& doc, const IngestOptions& opt, const std::atomic<bool>* cancel)
        : doc_(doc), opt_(opt), cancel_(cancel) {}

    // One member file with its bytes; `rel` is its clean relative path, `depth` its archive nesting.
    void add_file(const std::string& rel, const std::string& bytes, int depth);
    // A member left out, with why ("binary", "ignored", "symlink", "too large", ...).
    void skip(const std::string& reason, const std::string& rel);
    // Sorts sections by path, writes the tree and the summary of skipped members.
    void finish();

    bool cancelled() const { return cancel_ && cancel_->load(); }
    bool stopped() const { return stopped_ || cancelled(); }  // a limit ended the whole input
    void stop(std::string why) {
        if (!stopped_) doc_.warn(std::move(why));
        stopped_ = true;
    }
    const IngestOptions& options() const { return opt_; }
    Document& doc() { return doc_; }

    uint64_t decompressed = 0;  // bytes decompressed over all (nested) archives of this input
    int entries = 0;            // archive entries seen over all nesting levels

private:
    Document& doc_;
    const IngestOptions& opt_;
    const std::atomic<bool>* cancel_;
    bool stopped_ = false;
    uint64_t taken_ = 0;
    std::map<std::string, std::vector<std::string>> skipped_;  // reason -> paths
    std::vector<std::string> taken_files_;
};

// Reads an archive from `path` (when not empty) or from `bytes`, feeding regular entries to `b`
// under `prefix`. Never writes to disk. `depth` is this archive's nesting level (top = 0).
void read_archive(ContainerBuilder& b, const std::string& path, const std::string& bytes,
                  const std::string& prefix, int depth);

// Walks a folder: .gitignore files and the default ignore list, symlinks kept inside the root.
void read_folder(ContainerBuilder& b, const std::string& root);

// Archive entry names made safe: "..", ".", empty parts, leading '/', drive letters and backslashes
// removed, so that a name can never point outside its archive.
std::string sanitize_member_path(const std::string& utf8_name);

// A tree listing of sorted relative paths (directories end with '/', two spaces per level).
std::string tree_listing(const std::vector<std::string>& sorted_paths);

}  // namespace m1::ingest
