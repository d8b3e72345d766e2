// Internals of m1::Tokenizer shared by its source files (loading, encoding, decoding).
#pragma once
#include <atomic>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "bpe.h"
#include "decoder.h"
#include "m1/tokenizer.h"
#include "normalizer.h"
#include "pretok.h"
#include "tokenizer_added.h"

namespace m1 {

struct Tokenizer::Impl {
    std::unique_ptr<tok::Normalizer> normalizer;
    tok::PreTokenizerSpec pre;
    std::unique_ptr<tok::BpeModel> model;
    std::unique_ptr<tok::Decoder> decoder;
    std::vector<tok::AddedToken> added;
    std::unordered_map<int32_t, size_t> added_by_id;  // id -> index in `added`
    tok::StringMap added_by_content;
    tok::AddedTokenMatcher raw_matcher;   // tokens with normalized = false, matched in the raw text
    tok::AddedTokenMatcher norm_matcher;  // tokens with normalized = true, matched after normalization
    std::vector<tok::AddedToken> norm_storage;  // normalized forms of those tokens
    bool can_chunk = false;               // long texts may be cut at safe boundaries
    int threads = 0;                      // 0: all hardware threads
    uint64_t generation = 0;              // identifies this tokenizer in per-thread word caches

    // Call after the members above are set.
    void finish_setup();
    void encode(std::string_view text, std::vector<int32_t>& out) const;
    std::string decode_raw(std::span<const int32_t> ids, bool skip_special) const;
};

// Builds an Impl from the parsed parts of a tokenizer.json; `origin` names the file in errors.
std::unique_ptr<Tokenizer::Impl> parse_tokenizer_json(std::string_view json_text, const std::string& origin);
std::unique_ptr<Tokenizer::Impl> load_vocab_merges(const std::string& dir);

}  // namespace m1
