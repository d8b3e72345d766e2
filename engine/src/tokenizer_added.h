// Added tokens of tokenizer.json (special tokens like <end_of_sentence> and user-added words), found in
// text before pre-tokenization as HF does: leftmost-longest matches, then single_word, lstrip and rstrip.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace m1::tok {

class Regex;

struct AddedToken {
    int32_t id = 0;
    std::string content;
    bool single_word = false, lstrip = false, rstrip = false, normalized = true, special = false;
};

// One split of a text: a run of ordinary text, or an added token (id >= 0) with its byte range
// (which includes whitespace taken by lstrip/rstrip).
struct AddedSplit {
    size_t begin, end;
    int32_t id;  // -1: ordinary text
};

class AddedTokenMatcher {
public:
    AddedTokenMatcher();
    ~AddedTokenMatcher();
    // tokens: the set to match (only the normalized or only the non-normalized ones).
    void build(const std::vector<const AddedToken*>& tokens);
    bool empty() const { return nodes_.size() <= 1; }
    // Appends splits covering all of s, in order.
    void split(std::string_view s, std::vector<AddedSplit>& out) const;

private:
    struct Node {
        std::vector<std::pair<uint8_t, int32_t>> next;  // sorted by byte
        int32_t token = -1;                             // index into tokens_ when a token ends here
    };
    int32_t child(int32_t node, uint8_t b) const;
    std::vector<Node> nodes_;
    std::vector<const AddedToken*> tokens_;
    bool first_byte_[256] = {};
    std::unique_ptr<Regex> word_start_, word_end_;  // for single_word tokens
};

}  // namespace m1::tok
