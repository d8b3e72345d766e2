// Decoders, following HF tokenizers' decode_chain of each type.
#include "decoder.h"

#include <nlohmann/json.hpp>

#include "bpe.h"
#include "m1/tokenizer.h"
#include "unicode_utf8.h"

namespace m1::tok {
namespace {

// Each token's characters map back to bytes; a token with a character outside the map keeps its
// UTF-8 bytes. All tokens fuse into one string.
class ByteLevel : public Decoder {
public:
    void apply(std::vector<std::string>& tokens) const override {
        std::string out, raw;
        for (const auto& t : tokens) {
            if (byte_level_to_bytes(t, raw)) out += raw;
            else out += t;
        }
        tokens.assign(1, std::move(out));
    }
};

// "<0x41>" tokens become bytes; a run of them that is not valid UTF-8 gives one U+FFFD per byte.
class ByteFallback : public Decoder {
public:
    void apply(std::vector<std::string>& tokens) const override {
        std::vector<std::string> out;
        std::string bytes;
        size_t nbytes = 0;
        auto flush = [&] {
            if (!nbytes) return;
            if (unicode::is_valid_utf8(bytes)) out.push_back(bytes);
            else
                for (size_t i = 0; i < nbytes; ++i) out.emplace_back("\xEF\xBF\xBD");
            bytes.clear();
            nbytes = 0;
        };
        for (auto& t : tokens) {
            if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>') {
                const int v = hex(t[3]) * 16 + hex(t[4]);
                if (hex(t[3]) >= 0 && hex(t[4]) >= 0) {
                    bytes += static_cast<char>(v);
                    ++nbytes;
                    continue;
                }
            }
            flush();
            out.push_back(std::move(t));
        }
        flush();
        tokens.swap(out);
    }

private:
    static int hex(char c) {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
    }
};

class Fuse : public Decoder {
public:
    void apply(std::vector<std::string>& tokens) const override {
        std::string out;
        for (const auto& t : tokens) out += t;
        tokens.assign(1, std::move(out));
    }
};

class Replace : public Decoder {
public:
    Replace(std::string pattern, std::string content) : pattern_(std::move(pattern)), content_(std::move(content)) {}
    void apply(std::vector<std::string>& tokens) const override {
        if (pattern_.empty()) return;
        for (auto& t : tokens) {
            std::string out;
            size_t prev = 0;
            for (size_t p = t.find(pattern_); p != std::string::npos; p = t.find(pattern_, prev)) {
                out.append(t, prev, p - prev);
                out += content_;
                prev = p + pattern_.size();
            }
            out.append(t, prev);
            t.swap(out);
        }
    }

private:
    std::string pattern_, content_;
};

// Removes up to `start` leading and `stop` trailing occurrences of a character from each token.
class Strip : public Decoder {
public:
    Strip(std::string content, size_t start, size_t stop) : c_(std::move(content)), start_(start), stop_(stop) {}
    void apply(std::vector<std::string>& tokens) const override {
        if (c_.empty()) return;
        for (auto& t : tokens) {
            size_t b = 0, e = t.size();
            for (size_t k = 0; k < start_ && t.compare(b, c_.size(), c_) == 0 && b + c_.size() <= e; ++k) b += c_.size();
            for (size_t k = 0; k < stop_ && e >= b + c_.size() && t.compare(e - c_.size(), c_.size(), c_) == 0; ++k)
                e -= c_.size();
            t = t.substr(b, e - b);
        }
    }

private:
    std::string c_;
    size_t start_, stop_;
};

class Sequence : public Decoder {
public:
    explicit Sequence(std::vector<std::unique_ptr<Decoder>> v) : v_(std::move(v)) {}
    void apply(std::vector<std::string>& tokens) const override {
        for (const auto& d : v_) d->apply(tokens);
    }

private:
    std::vector<std::unique_ptr<Decoder>> v_;
};

}  // namespace

std::unique_ptr<Decoder> make_decoder(const nlohmann::json& j) {
    if (j.is_null()) return nullptr;
    const std::string type = j.value("type", "");
    if (type == "ByteLevel") return std::make_unique<ByteLevel>();
    if (type == "ByteFallback") return std::make_unique<ByteFallback>();
    if (type == "Fuse") return std::make_unique<Fuse>();
    if (type == "Replace") {
        const auto& pat = j.at("pattern");
        if (!pat.contains("String")) throw TokenizerError("Replace decoder: only String patterns are supported");
        return std::make_unique<Replace>(pat.at("String").get<std::string>(), j.at("content").get<std::string>());
    }
    if (type == "Strip")
        return std::make_unique<Strip>(j.at("content").get<std::string>(), j.value("start", 0), j.value("stop", 0));
    if (type == "Sequence") {
        std::vector<std::unique_ptr<Decoder>> v;
        for (const auto& d : j.at("decoders"))
            if (auto p = make_decoder(d)) v.push_back(std::move(p));
        return std::make_unique<Sequence>(std::move(v));
    }
    throw TokenizerError("unsupported decoder type \"" + type +
                         "\" (supported: ByteLevel, ByteFallback, Fuse, Replace, Strip, Sequence)");
}

}  // namespace m1::tok
