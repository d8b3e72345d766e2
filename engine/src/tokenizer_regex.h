// PCRE2 (JIT, UTF, Unicode properties) wrapper for the tokenizer's pre-tokenizer patterns, which are
// written for Oniguruma (HF tokenizers' engine); find_all returns every non-empty match in order.
#pragma once
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace m1::tok {

class Regex {
public:
    // Throws TokenizerError with the PCRE2 message and offset when the pattern does not compile.
    explicit Regex(const std::string& pattern);
    ~Regex();
    Regex(const Regex&) = delete;
    Regex& operator=(const Regex&) = delete;
    // Byte ranges [begin, end) of successive non-overlapping, non-empty matches in s (valid UTF-8).
    void find_all(std::string_view s, std::vector<std::pair<size_t, size_t>>& out) const;
    // True when the pattern matches at s[0] (anchored).
    bool matches_at_start(std::string_view s) const;
    const std::string& pattern() const { return pattern_; }

private:
    std::string pattern_;
    struct Code;
    std::unique_ptr<Code> code_;
};

// Escapes a literal string for use as a pattern (Split with a String pattern).
std::string regex_escape(std::string_view literal);

}  // namespace m1::tok
