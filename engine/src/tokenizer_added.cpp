// Added-token matching with a byte trie: at each position whose byte can start a token, the longest
// token there wins; the first position with a match is taken (leftmost-longest, as HF's Aho-Corasick).
#include "tokenizer_added.h"

#include <algorithm>

#include "tokenizer_regex.h"
#include "unicode_norm.h"
#include "unicode_utf8.h"

namespace m1::tok {

AddedTokenMatcher::AddedTokenMatcher() : nodes_(1) {}
AddedTokenMatcher::~AddedTokenMatcher() = default;

int32_t AddedTokenMatcher::child(int32_t node, uint8_t b) const {
    const auto& nx = nodes_[size_t(node)].next;
    auto it = std::lower_bound(nx.begin(), nx.end(), b, [](const auto& e, uint8_t v) { return e.first < v; });
    return (it != nx.end() && it->first == b) ? it->second : -1;
}

void AddedTokenMatcher::build(const std::vector<const AddedToken*>& tokens) {
    nodes_.assign(1, Node{});
    tokens_ = tokens;
    std::fill(std::begin(first_byte_), std::end(first_byte_), false);
    bool any_single_word = false;
    for (size_t t = 0; t < tokens.size(); ++t) {
        const std::string& c = tokens[t]->content;
        if (c.empty()) continue;
        any_single_word |= tokens[t]->single_word;
        first_byte_[static_cast<uint8_t>(c[0])] = true;
        int32_t node = 0;
        for (unsigned char b : c) {
            int32_t n = child(node, b);
            if (n < 0) {
                n = static_cast<int32_t>(nodes_.size());
                auto& nx = nodes_[size_t(node)].next;
                nx.insert(std::lower_bound(nx.begin(), nx.end(), b, [](const auto& e, uint8_t v) { return e.first < v; }),
                          {b, n});
                nodes_.emplace_back();
            }
            node = n;
        }
        // A duplicate content keeps the first token.
        if (nodes_[size_t(node)].token < 0) nodes_[size_t(node)].token = static_cast<int32_t>(t);
    }
    if (any_single_word) {
        word_start_ = std::make_unique<Regex>(R"(\w)");
        word_end_ = std::make_unique<Regex>(R"(\w$)");
    }
}

namespace {
// Start of the last UTF-8 character before `pos`.
size_t char_before(std::string_view s, size_t pos) {
    size_t k = pos - 1;
    while (k > 0 && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80) --k;
    return k;
}
}  // namespace

void AddedTokenMatcher::split(std::string_view s, std::vector<AddedSplit>& out) const {
    size_t start_offset = 0;  // end of the previous split
    for (size_t i = 0; i < s.size(); ++i) {
        if (!first_byte_[static_cast<uint8_t>(s[i])]) continue;
        // Longest token starting at i.
        int32_t node = 0, found = -1;
        size_t found_end = 0;
        for (size_t j = i; j < s.size(); ++j) {
            node = child(node, static_cast<uint8_t>(s[j]));
            if (node < 0) break;
            if (nodes_[size_t(node)].token >= 0) {
                found = nodes_[size_t(node)].token;
                found_end = j + 1;
            }
        }
        if (found < 0) continue;
        const AddedToken& tok = *tokens_[size_t(found)];
        size_t b = i, e = found_end;
        if (tok.single_word) {
            const bool start_ok = b == 0 || !word_end_->matches_at_start(s.substr(char_before(s, b), b - char_before(s, b)));
            const bool stop_ok = e == s.size() || !word_start_->matches_at_start(s.substr(e));
            if (!start_ok || !stop_ok) {  // stays ordinary text; like HF, the search resumes after it
                i = found_end - 1;
                continue;
            }
        }
        if (tok.lstrip) {
            size_t nb = b;
            while (nb > start_offset) {
                const size_t k = char_before(s, nb);
                size_t len;
                if (!unicode::is_whitespace(unicode::decode_utf8(s, k, len))) break;
                nb = k;
            }
            b = nb;
        }
        if (tok.rstrip) {
            while (e < s.size()) {
                size_t len;
                if (!unicode::is_whitespace(unicode::decode_utf8(s, e, len))) break;
                e += len;
            }
        }
        if (start_offset < b) out.push_back({start_offset, b, -1});
        out.push_back({b, e, tok.id});
        start_offset = e;
        i = e - 1;
    }
    if (start_offset < s.size()) out.push_back({start_offset, s.size(), -1});
}

}  // namespace m1::tok
