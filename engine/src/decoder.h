// tokenizer.json decoders: ByteLevel, ByteFallback, Fuse, Replace, Strip, Sequence. They turn token
// strings back into text; the result is raw bytes that the caller repairs into valid UTF-8.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace m1::tok {

class Decoder {
public:
    virtual ~Decoder() = default;
    virtual void apply(std::vector<std::string>& tokens) const = 0;
};

// nullptr for JSON null (tokens are then joined with spaces, as HF does).
std::unique_ptr<Decoder> make_decoder(const nlohmann::json& j);

}  // namespace m1::tok
