// tokenizer.json pre-tokenizers: Split (regex or string, every behavior, invert), ByteLevel (with or
// without its GPT-2 regex, add_prefix_space), Digits, Whitespace, WhitespaceSplit and Sequence. They cut
// normalized text into pieces (byte ranges of one buffer) that the BPE model encodes one by one.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace m1::tok {

struct PreTokenized {
    std::string text;                                  // the normalized text the pieces refer to
    std::vector<std::pair<uint32_t, uint32_t>> pieces; // [begin, end) byte ranges, in order, non-empty
};

class PreTokenizer {
public:
    virtual ~PreTokenizer() = default;
    virtual void apply(PreTokenized& p) const = 0;
    // True when it inserts text at the start of pieces (ByteLevel add_prefix_space): a text cut into
    // chunks would then differ from the whole, so such tokenizers are not chunked.
    virtual bool inserts_prefix() const { return false; }
};

struct PreTokenizerSpec {
    std::unique_ptr<PreTokenizer> pre;  // nullptr: the whole text is one piece
    bool byte_level = false;            // a ByteLevel step runs last: pieces go to BPE as raw bytes
};

// Throws TokenizerError for unsupported types (or ByteLevel anywhere but last).
PreTokenizerSpec make_pretokenizer(const nlohmann::json& j);

}  // namespace m1::tok
