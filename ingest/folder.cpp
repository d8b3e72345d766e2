// Folders and codebases: a sorted walk honouring .gitignore files and the default ignore list.
// Symbolic links are followed only when they stay inside the root; nothing outside is read.
#include <algorithm>
#include <filesystem>
#include <fstream>

#include "ingest/container.h"
#include "ingest/gitignore.h"

namespace m1::ingest {

namespace fs = std::filesystem;

namespace {

bool read_small_file(const fs::path& p, uint64_t limit, std::string& out) {
    std::ifstream f(p, std::ios::binary | std::ios::ate);
    if (!f) return false;
    // Sized by the file (not the limit): a 64 MiB buffer per small file would dominate the walk.
    auto size = static_cast<uint64_t>(std::max<std::streamoff>(f.tellg(), 0));
    f.seekg(0);
    out.assign(static_cast<size_t>(std::min<uint64_t>({limit, size, 1ull << 30})), '\0');
    f.read(out.data(), static_cast<std::streamsize>(out.size()));
    out.resize(static_cast<size_t>(f.gcount()));
    return true;
}

bool inside(const fs::path& root, const fs::path& p) {
    auto r = root.begin(), q = p.begin();
    for (; r != root.end(); ++r, ++q)
        if (q == p.end() || *r != *q) return false;
    return true;
}

struct Walker {
    ContainerBuilder& b;
    fs::path root_canon;
    IgnoreRules rules;
    int files_seen = 0;

    void walk(const fs::path& dir, const std::string& rel_dir, int depth) {
        if (b.stopped() || depth > 64) return;
        std::error_code ec;
        if (b.options().respect_gitignore && fs::is_regular_file(dir / ".gitignore", ec)) {
            std::string content;
            if (read_small_file(dir / ".gitignore", 1 << 20, content)) rules.add_file(rel_dir, content);
        }
        std::vector<fs::directory_entry> entries;
        for (fs::directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end; !ec && it != end;
             it.increment(ec))
            entries.push_back(*it);
        std::sort(entries.begin(), entries.end(),
                  [](const auto& x, const auto& y) { return x.path().filename() < y.path().filename(); });
        for (const auto& e : entries) {
            if (b.stopped()) return;
            std::string name = e.path().filename().string();
            std::string rel = rel_dir.empty() ? name : rel_dir + "/" + name;
            bool link = e.is_symlink(ec);
            bool is_dir = e.is_directory(ec);  // follows links
            if (b.options().respect_gitignore && rules.ignored(rel, is_dir)) {
                if (!is_dir) b.skip("ignored", rel);
                continue;
            }
            if (link) {
                fs::path target = fs::weakly_canonical(e.path(), ec);
                if (ec || !inside(root_canon, target)) {
                    b.skip("symbolic link leading outside the folder", rel);
                    continue;
                }
                if (is_dir) {  // a link to a folder inside the root: its files are read from their real place
                    b.skip("symbolic link to a folder", rel);
                    continue;
                }
            }
            if (is_dir) {
                walk(e.path(), rel, depth + 1);
                continue;
            }
            if (!e.is_regular_file(ec)) continue;
            if (++files_seen > b.options().max_folder_files) {
                b.stop("more than " + std::to_string(b.options().max_folder_files) + " files; the rest were left out");
                return;
            }
            uint64_t size = e.file_size(ec);
            if (size > b.options().max_file_bytes) {
                b.skip("larger than " + std::to_string(b.options().max_file_bytes >> 20) + " MiB", rel);
                continue;
            }
            std::string bytes;
            if (!read_small_file(e.path(), b.options().max_file_bytes + 1, bytes)) {
                b.skip("unreadable", rel);
                continue;
            }
            b.doc().source_bytes += bytes.size();
            b.add_file(rel, bytes, 0);
        }
    }
};

}  // namespace

void read_folder(ContainerBuilder& b, const std::string& root) {
    std::error_code ec;
    Walker w{b, fs::weakly_canonical(root, ec), b.options().respect_gitignore ? IgnoreRules::defaults() : IgnoreRules{}};
    w.walk(fs::path(root), "", 0);
}

}  // namespace m1::ingest
