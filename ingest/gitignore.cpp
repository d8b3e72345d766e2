// .gitignore matching: each rule is checked against the path relative to its file's folder.
#include "ingest/gitignore.h"

#include <cstddef>

namespace m1::ingest {

namespace {

// Backtracking matcher with a step budget so that a hostile pattern cannot take long.
struct Matcher {
    const std::string& p;
    const std::string& t;
    long steps = 0;

    bool match_class(size_t& pi, char c) const {
        size_t i = pi + 1;
        bool neg = i < p.size() && (p[i] == '!' || p[i] == '^');
        if (neg) ++i;
        bool hit = false, first = true;
        while (i < p.size() && (p[i] != ']' || first)) {
            first = false;
            char lo = p[i];
            if (lo == '\\' && i + 1 < p.size()) lo = p[++i];
            char hi = lo;
            if (i + 2 < p.size() && p[i + 1] == '-' && p[i + 2] != ']') hi = p[i + 2], i += 2;
            if (c >= lo && c <= hi) hit = true;
            ++i;
        }
        if (i >= p.size()) return false;  // unterminated class: no match
        pi = i + 1;
        return hit != neg && c != '/';
    }

    bool run(size_t pi, size_t ti) {
        while (true) {
            if (++steps > 200000) return false;
            if (pi == p.size()) return ti == t.size();
            if (p.compare(pi, 2, "**") == 0 && (pi == 0 || p[pi - 1] == '/')) {
                if (pi + 2 == p.size()) return true;  // trailing "**": everything below
                if (p[pi + 2] == '/') {                // "**/": zero or more folders
                    for (size_t k = ti; k <= t.size(); ++k)
                        if ((k == ti || t[k - 1] == '/') && run(pi + 3, k)) return true;
                    return false;
                }
            }
            char c = p[pi];
            if (c == '*') {
                while (pi < p.size() && p[pi] == '*') ++pi;
                for (size_t k = ti; k <= t.size(); ++k) {
                    if (run(pi, k)) return true;
                    if (k < t.size() && t[k] == '/') return false;
                }
                return false;
            }
            if (ti == t.size()) return false;
            if (c == '?') {
                if (t[ti] == '/') return false;
                ++pi, ++ti;
            } else if (c == '[') {
                if (!match_class(pi, t[ti])) return false;
                ++ti;
            } else {
                if (c == '\\' && pi + 1 < p.size()) c = p[++pi];
                if (c != t[ti]) return false;
                ++pi, ++ti;
            }
        }
    }
};

}  // namespace

bool glob_match(const std::string& pattern, const std::string& text) {
    if (pattern.size() > 1024) return false;
    Matcher m{pattern, text};
    return m.run(0, 0);
}

void IgnoreRules::add_file(const std::string& base, const std::string& content) {
    size_t p = 0;
    while (p < content.size()) {
        size_t e = content.find('\n', p);
        if (e == std::string::npos) e = content.size();
        add_pattern(base, content.substr(p, e - p));
        p = e + 1;
    }
}

void IgnoreRules::add_pattern(const std::string& base, std::string line) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    while (!line.empty() && line.back() == ' ' && !(line.size() >= 2 && line[line.size() - 2] == '\\'))
        line.pop_back();
    if (line.empty() || line[0] == '#') return;
    Rule r;
    r.base = base;
    if (line[0] == '!') r.negate = true, line.erase(0, 1);
    else if (line[0] == '\\' && line.size() > 1 && (line[1] == '!' || line[1] == '#')) line.erase(0, 1);
    if (!line.empty() && line.back() == '/') r.dir_only = true, line.pop_back();
    if (line.empty()) return;
    r.anchored = line.find('/') != std::string::npos;
    if (line[0] == '/') line.erase(0, 1);
    r.pattern = line;
    rules_.push_back(std::move(r));
}

bool IgnoreRules::ignored(const std::string& rel, bool is_dir) const {
    bool result = false;
    for (const auto& r : rules_) {
        if (r.dir_only && !is_dir) continue;
        std::string sub;
        if (r.base.empty()) sub = rel;
        else if (rel.size() > r.base.size() && rel.compare(0, r.base.size(), r.base) == 0 && rel[r.base.size()] == '/')
            sub = rel.substr(r.base.size() + 1);
        else continue;
        bool hit;
        if (r.anchored) {
            hit = glob_match(r.pattern, sub);
        } else {
            size_t slash = sub.find_last_of('/');
            hit = glob_match(r.pattern, slash == std::string::npos ? sub : sub.substr(slash + 1));
        }
        if (hit) result = !r.negate;
    }
    return result;
}

IgnoreRules IgnoreRules::defaults() {
    IgnoreRules d;
    for (const char* p : {".git/", ".hg/", ".svn/", ".bzr/", "node_modules/", "bower_components/", "__pycache__/",
                          ".venv/", "venv/", ".tox/", ".mypy_cache/", ".pytest_cache/", ".ruff_cache/", ".idea/",
                          ".vscode/", ".gradle/", ".next/", ".nuxt/", ".cache/", ".terraform/", "build/", "build-*/",
                          "cmake-build-*/", "dist/", "target/", "out/", "_build/", ".build/", "package-lock.json",
                          "yarn.lock", "pnpm-lock.yaml", "Cargo.lock", "poetry.lock", "Pipfile.lock", "composer.lock",
                          "Gemfile.lock", "go.sum", "*.o", "*.obj", "*.a", "*.so", "*.dylib", "*.dll", "*.exe",
                          "*.class", "*.pyc", "*.pyo", ".DS_Store", "*.min.js", "*.map"})
        d.add_pattern("", p);
    return d;
}

}  // namespace m1::ingest
