// tokenizer.json normalizers: NFC, NFD, NFKC, NFKD, Replace, Prepend, Strip and Sequence,
// applied to each piece of text between added tokens before pre-tokenization.
#pragma once
#include <memory>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace m1::tok {

class Normalizer {
public:
    virtual ~Normalizer() = default;
    virtual void apply(std::string& s) const = 0;
};

// nullptr for a JSON null; throws TokenizerError for unknown types.
std::unique_ptr<Normalizer> make_normalizer(const nlohmann::json& j);

}  // namespace m1::tok
