// .gitignore rules: patterns with '*', '?', '[..]', '**', '!' negation, trailing '/' for directories,
// anchoring by a slash; rules of deeper files come later and win. Plus the default ignore list.
#pragma once
#include <string>
#include <vector>

namespace m1::ingest {

class IgnoreRules {
public:
    // Adds the lines of a .gitignore found in folder `base` ("" for the root, else "a/b").
    void add_file(const std::string& base, const std::string& content);
    void add_pattern(const std::string& base, std::string line);
    // `rel` is relative to the root, with '/' separators.
    bool ignored(const std::string& rel, bool is_dir) const;
    // The default list: VCS folders, dependency and build output folders, lock files, compiled objects.
    static IgnoreRules defaults();

private:
    struct Rule {
        std::string base, pattern;
        bool negate = false, dir_only = false, anchored = false;
    };
    std::vector<Rule> rules_;
};

// Glob matching as git does it with FNM_PATHNAME: '*' and '?' never match '/', "**/" spans folders.
bool glob_match(const std::string& pattern, const std::string& text);

}  // namespace m1::ingest
