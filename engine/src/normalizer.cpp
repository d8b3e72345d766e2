// Normalizers of tokenizer.json. Replace with a String pattern is a literal replace-all; with a Regex
// pattern it goes through PCRE2 like the pre-tokenizers.
#include "normalizer.h"

#include <nlohmann/json.hpp>
#include <vector>

#include "m1/tokenizer.h"
#include "tokenizer_regex.h"
#include "unicode_norm.h"
#include "unicode_utf8.h"

namespace m1::tok {
namespace {

class Unicode : public Normalizer {
public:
    explicit Unicode(unicode::NormalForm f) : f_(f) {}
    void apply(std::string& s) const override { s = unicode::normalize(s, f_); }

private:
    unicode::NormalForm f_;
};

class Replace : public Normalizer {
public:
    Replace(std::string pattern, bool is_regex, std::string content)
        : literal_(is_regex ? "" : pattern), content_(std::move(content)) {
        if (is_regex) regex_ = std::make_unique<Regex>(pattern);
    }
    void apply(std::string& s) const override {
        std::vector<std::pair<size_t, size_t>> m;
        if (regex_) regex_->find_all(s, m);
        else if (!literal_.empty())
            for (size_t p = s.find(literal_); p != std::string::npos; p = s.find(literal_, p + literal_.size()))
                m.emplace_back(p, p + literal_.size());
        if (m.empty()) return;
        std::string out;
        out.reserve(s.size());
        size_t prev = 0;
        for (auto [b, e] : m) {
            out.append(s, prev, b - prev);
            out += content_;
            prev = e;
        }
        out.append(s, prev);
        s.swap(out);
    }

private:
    std::string literal_, content_;
    std::unique_ptr<Regex> regex_;
};

class Prepend : public Normalizer {
public:
    explicit Prepend(std::string p) : p_(std::move(p)) {}
    void apply(std::string& s) const override {
        if (!s.empty()) s.insert(0, p_);
    }

private:
    std::string p_;
};

class Strip : public Normalizer {
public:
    Strip(bool left, bool right) : left_(left), right_(right) {}
    void apply(std::string& s) const override {
        size_t b = 0, e = s.size();
        if (left_)
            while (b < e) {
                size_t len;
                if (!unicode::is_whitespace(unicode::decode_utf8(s, b, len))) break;
                b += len;
            }
        if (right_)
            while (e > b) {
                size_t k = e - 1;
                while (k > b && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80) --k;
                size_t len;
                if (!unicode::is_whitespace(unicode::decode_utf8(s, k, len))) break;
                e = k;
            }
        s = s.substr(b, e - b);
    }

private:
    bool left_, right_;
};

class Sequence : public Normalizer {
public:
    explicit Sequence(std::vector<std::unique_ptr<Normalizer>> v) : v_(std::move(v)) {}
    void apply(std::string& s) const override {
        for (const auto& n : v_) n->apply(s);
    }

private:
    std::vector<std::unique_ptr<Normalizer>> v_;
};

}  // namespace

std::unique_ptr<Normalizer> make_normalizer(const nlohmann::json& j) {
    if (j.is_null()) return nullptr;
    const std::string type = j.value("type", "");
    if (type == "NFC") return std::make_unique<Unicode>(unicode::NormalForm::NFC);
    if (type == "NFD") return std::make_unique<Unicode>(unicode::NormalForm::NFD);
    if (type == "NFKC") return std::make_unique<Unicode>(unicode::NormalForm::NFKC);
    if (type == "NFKD") return std::make_unique<Unicode>(unicode::NormalForm::NFKD);
    if (type == "Replace") {
        const auto& pat = j.at("pattern");
        const bool is_regex = pat.contains("Regex");
        return std::make_unique<Replace>(is_regex ? pat.at("Regex").get<std::string>() : pat.at("String").get<std::string>(),
                                         is_regex, j.at("content").get<std::string>());
    }
    if (type == "Prepend") return std::make_unique<Prepend>(j.at("prepend").get<std::string>());
    if (type == "Strip") return std::make_unique<Strip>(j.value("strip_left", true), j.value("strip_right", true));
    if (type == "Sequence") {
        std::vector<std::unique_ptr<Normalizer>> v;
        for (const auto& n : j.at("normalizers"))
            if (auto p = make_normalizer(n)) v.push_back(std::move(p));
        return std::make_unique<Sequence>(std::move(v));
    }
    throw TokenizerError("unsupported normalizer type \"" + type + "\" (supported: NFC, NFD, NFKC, NFKD, Replace, "
                         "Prepend, Strip, Sequence)");
}

}  // namespace m1::tok
