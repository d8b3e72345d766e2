// The BPE model of tokenizer.json: vocabulary, ranked merges, and the merge of one pre-token into ids,
// the lowest-ranked adjacent pair first (leftmost on ties), exactly as HF tokenizers. Pieces of a
// byte-level tokenizer are merged as raw bytes (no GPT-2 character mapping at run time).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace m1::tok {

struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept;  // xxHash3
};
using StringMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

// Results for pre-tokens seen before (per thread; words repeat a lot in real text). A flat
// open-addressing table keyed by a 64-bit hash, with words and ids in two arenas; cleared when full.
class WordCache {
public:
    bool find(std::string_view word, std::vector<int32_t>& out) const;
    void insert(std::string_view word, const int32_t* ids, size_t n);

private:
    struct Slot {
        uint64_t hash = 0;  // 0: empty
        uint32_t key_off = 0, ids_off = 0;
        uint16_t key_len = 0, n_ids = 0;
    };
    static constexpr size_t kSlots = 1 << 17;
    std::vector<Slot> slots_;
    size_t used_ = 0;
    std::string keys_;
    std::vector<int32_t> ids_;
};

// Open-addressing map from a pair of ids to (rank, merged id).
class PairMap {
public:
    struct Value { uint32_t rank; int32_t id; };
    void reserve(size_t n);
    void insert(int32_t a, int32_t b, Value v);  // overwrites (a later duplicate merge wins, as in HF)
    const Value* find(int32_t a, int32_t b) const {
        const uint64_t key = pack(a, b);
        for (size_t i = slot(key);; i = (i + 1) & mask_) {
            if (keys_[i] == key) return &vals_[i];
            if (keys_[i] == kEmpty) return nullptr;
        }
    }
    size_t size() const { return size_; }

private:
    static constexpr uint64_t kEmpty = ~0ull;
    static uint64_t pack(int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }
    size_t slot(uint64_t k) const { return (k * 0x9E3779B97F4A7C15ull) >> shift_; }
    std::vector<uint64_t> keys_;
    std::vector<Value> vals_;
    size_t mask_ = 0, size_ = 0;
    int shift_ = 64;
};

struct BpeOptions {
    std::optional<std::string> unk_token;
    bool fuse_unk = false, byte_fallback = false, ignore_merges = false;
    std::string continuing_subword_prefix, end_of_word_suffix;
};

class BpeModel {
public:
    // vocab: token string -> id; merges: pairs of token strings, in rank order. byte_level: pieces
    // arrive as raw bytes and vocabulary strings use GPT-2's byte-to-character map.
    BpeModel(StringMap vocab, const std::vector<std::pair<std::string, std::string>>& merges, BpeOptions opt,
             bool byte_level);

    void encode_word(std::string_view word, std::vector<int32_t>& out, WordCache* cache) const;
    std::optional<int32_t> token_id(std::string_view token) const;
    const std::string* token(int32_t id) const;  // nullptr if the id is not in the vocabulary
    int32_t max_id() const { return static_cast<int32_t>(id_to_token_.size()) - 1; }
    bool byte_level() const { return byte_level_; }

private:
    void initial_symbols(std::string_view word, std::vector<int32_t>& ids) const;
    void merge_small(std::vector<int32_t>& ids) const;
    void merge_large(std::vector<int32_t>& ids) const;

    StringMap vocab_;
    std::vector<std::string> id_to_token_;
    PairMap merges_;
    BpeOptions opt_;
    bool byte_level_;
    int32_t byte_id_[256];  // byte-level: id of each single byte (-1 if absent)
    StringMap raw_vocab_;   // byte-level with ignore_merges: raw bytes of each token -> id
};

// GPT-2's byte <-> character map ("Ġ" for ' ').
const std::string& byte_to_char_utf8(uint8_t b);
// Raw bytes of a byte-level token string; false if a character is outside the map.
bool byte_level_to_bytes(std::string_view token, std::string& out);

}  // namespace m1::tok
