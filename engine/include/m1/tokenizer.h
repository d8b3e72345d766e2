// Byte-level BPE tokenizer that reads HF `tokenizer.json` (or GPT-2 style vocab.json + merges.txt) and
// gives the same ids as the HF tokenizers library; plus StreamDecoder for turning generated ids into
// text one token at a time. No Qt; thread-safe for concurrent const use.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace m1 {

// Every load/format failure: a file that is missing, not JSON, or uses a component we do not support.
struct TokenizerError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class Tokenizer {
public:
    // file_or_dir: a tokenizer.json, or a directory holding tokenizer.json, or vocab.json + merges.txt
    // (then tokenizer_config.json / special_tokens_map.json, if present, add the special tokens).
    static std::unique_ptr<Tokenizer> load(const std::string& file_or_dir);
    // The contents of a tokenizer.json; `origin` names it in error messages.
    static std::unique_ptr<Tokenizer> from_json(std::string_view json_text, const std::string& origin = "<memory>");
    ~Tokenizer();

    // Token ids of `text` as HF `encode(text, add_special_tokens=False)`: added/special tokens written
    // inside the text are matched as HF does; no BOS/EOS is added. Invalid UTF-8 reads as U+FFFD.
    // Long texts are split at safe boundaries and encoded on all cores.
    std::vector<int32_t> encode(std::string_view text) const;
    // encode(text).size() without keeping the ids (the packer's token counting).
    size_t count(std::string_view text) const;
    // Text of `ids` as HF `decode(ids, skip_special_tokens)`; invalid byte sequences become U+FFFD.
    // Ids outside the vocabulary are skipped.
    std::string decode(std::span<const int32_t> ids, bool skip_special = false) const;

    // Id of a token string (vocabulary or added token), as HF `token_to_id`.
    std::optional<int32_t> token_id(std::string_view token) const;
    // Token string of an id as HF `id_to_token` (byte-level form, e.g. "Ġthe"); "" when unknown.
    std::string id_to_token(int32_t id) const;
    // Largest id + 1 over the vocabulary and the added tokens (every valid id is below it).
    size_t vocab_size() const;
    // True for added tokens marked "special" (skipped by decode(ids, true)).
    bool is_special(int32_t id) const;
    // Threads used for long inputs (default: all hardware threads). 1 disables parallel encoding.
    void set_threads(int n);

    // Internal: decoded bytes of ids before UTF-8 repair (what StreamDecoder buffers).
    std::string decode_bytes(std::span<const int32_t> ids, bool skip_special) const;

    struct Impl;

private:
    explicit Tokenizer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// Turns a stream of ids into text as it is generated: feed() returns only complete UTF-8 text
// (a character split over several byte tokens appears once all its bytes arrived); the concatenation
// of all feed() results and finish() equals tokenizer.decode(all ids, skip_special).
class StreamDecoder {
public:
    explicit StreamDecoder(const Tokenizer& tokenizer, bool skip_special = false);
    std::string feed(int32_t id);
    // Flushes what is left (an incomplete character becomes U+FFFD) and resets the decoder.
    std::string finish();
    void reset();

private:
    const Tokenizer* tok_;
    bool skip_special_;
    std::vector<int32_t> ids_;  // the last emitted id (context) and the ids not yet emitted
    size_t emitted_bytes_ = 0;  // bytes of decode_bytes(ids_) already returned
};

}  // namespace m1
