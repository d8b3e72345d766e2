// Pre-tokenizers. Splitting follows HF's rules: a piece is cut into alternating match / non-match
// ranges, `invert` swaps the two kinds, the behavior merges or drops them, and empty ranges vanish.
#include "pretok.h"

#include <algorithm>
#include <functional>
#include <nlohmann/json.hpp>

#include "m1/tokenizer.h"
#include "tokenizer_regex.h"
#include "unicode_norm.h"
#include "unicode_utf8.h"

namespace m1::tok {
namespace {

using Ranges = std::vector<std::pair<size_t, size_t>>;
using Matcher = std::function<void(std::string_view, Ranges&)>;  // match ranges within a piece
enum class Behavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

// GPT-2's pattern, used by ByteLevel when use_regex is true.
const char* kGpt2Pattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

struct Seg {
    size_t b, e;
    bool match;
};

// Applies `behavior` to the alternating segments of one piece (HF's SplitDelimiterBehavior).
void apply_behavior(std::vector<Seg>& segs, Behavior behavior, std::vector<std::pair<size_t, size_t>>& out) {
    std::vector<Seg> acc;
    bool prev = false;
    switch (behavior) {
    case Behavior::Removed:
        for (const Seg& s : segs) if (!s.match) acc.push_back(s);
        break;
    case Behavior::Isolated:
        acc = segs;
        break;
    case Behavior::MergedWithPrevious:
        for (const Seg& s : segs) {
            if (s.match && !prev && !acc.empty()) acc.back().e = s.e;
            else acc.push_back(s);
            prev = s.match;
        }
        break;
    case Behavior::MergedWithNext:
        for (size_t k = segs.size(); k-- > 0;) {
            const Seg& s = segs[k];
            if (s.match && !prev && !acc.empty()) acc.back().b = s.b;
            else acc.push_back(s);
            prev = s.match;
        }
        std::reverse(acc.begin(), acc.end());
        break;
    case Behavior::Contiguous:
        for (const Seg& s : segs) {
            if (s.match == prev && !acc.empty()) acc.back().e = s.e;
            else acc.push_back(s);
            prev = s.match;
        }
        break;
    }
    for (const Seg& s : acc)
        if (s.e > s.b) out.emplace_back(s.b, s.e);
}

class Split : public PreTokenizer {
public:
    Split(Matcher m, Behavior b, bool invert) : m_(std::move(m)), behavior_(b), invert_(invert) {}
    void apply(PreTokenized& p) const override {
        std::vector<std::pair<uint32_t, uint32_t>> next;
        next.reserve(p.pieces.size() * 2);
        Ranges matches, cut;
        std::vector<Seg> segs;
        for (auto [pb, pe] : p.pieces) {
            std::string_view piece(p.text.data() + pb, pe - pb);
            matches.clear();
            m_(piece, matches);
            if (matches.empty() && !invert_ && behavior_ != Behavior::Removed) {
                next.emplace_back(pb, pe);  // common fast path: nothing to cut
                continue;
            }
            segs.clear();
            size_t prev = 0;
            for (auto [b, e] : matches) {
                if (b > prev) segs.push_back({prev, b, invert_});
                segs.push_back({b, e, !invert_});
                prev = e;
            }
            if (prev < piece.size()) segs.push_back({prev, piece.size(), invert_});
            cut.clear();
            apply_behavior(segs, behavior_, cut);
            for (auto [b, e] : cut) next.emplace_back(pb + b, pb + e);
        }
        p.pieces.swap(next);
    }

private:
    Matcher m_;
    Behavior behavior_;
    bool invert_;
};

class ByteLevel : public PreTokenizer {
public:
    ByteLevel(bool add_prefix_space, bool use_regex) : prefix_(add_prefix_space) {
        if (use_regex) {
            auto re = std::make_shared<Regex>(kGpt2Pattern);
            split_ = std::make_unique<Split>([re](std::string_view s, Ranges& r) { re->find_all(s, r); },
                                             Behavior::Isolated, false);
        }
    }
    void apply(PreTokenized& p) const override {
        if (prefix_) add_prefix_space(p);
        if (split_) split_->apply(p);
    }
    bool inserts_prefix() const override { return prefix_; }

private:
    // HF prepends a space to every piece that does not start with one.
    static void add_prefix_space(PreTokenized& p) {
        std::string text;
        text.reserve(p.text.size() + p.pieces.size());
        for (auto& [b, e] : p.pieces) {
            const uint32_t nb = static_cast<uint32_t>(text.size());
            if (p.text[b] != ' ') text += ' ';
            text.append(p.text, b, e - b);
            b = nb;
            e = static_cast<uint32_t>(text.size());
        }
        p.text.swap(text);
    }
    bool prefix_;
    std::unique_ptr<Split> split_;
};

class Sequence : public PreTokenizer {
public:
    explicit Sequence(std::vector<std::unique_ptr<PreTokenizer>> v) : v_(std::move(v)) {}
    void apply(PreTokenized& p) const override {
        for (const auto& s : v_) s->apply(p);
    }
    bool inserts_prefix() const override {
        for (const auto& s : v_)
            if (s->inserts_prefix()) return true;
        return false;
    }

private:
    std::vector<std::unique_ptr<PreTokenizer>> v_;
};

Behavior parse_behavior(const std::string& s) {
    if (s == "Removed") return Behavior::Removed;
    if (s == "Isolated") return Behavior::Isolated;
    if (s == "MergedWithPrevious") return Behavior::MergedWithPrevious;
    if (s == "MergedWithNext") return Behavior::MergedWithNext;
    if (s == "Contiguous") return Behavior::Contiguous;
    throw TokenizerError("unknown Split behavior \"" + s + "\"");
}

Matcher regex_matcher(const std::string& pattern) {
    auto re = std::make_shared<Regex>(pattern);
    return [re](std::string_view s, Ranges& r) { re->find_all(s, r); };
}

// Every code point satisfying `pred` is one match (HF's char-predicate patterns).
Matcher char_matcher(bool (*pred)(uint32_t)) {
    return [pred](std::string_view s, Ranges& r) {
        for (size_t i = 0; i < s.size();) {
            size_t len;
            const uint32_t cp = unicode::decode_utf8(s, i, len);
            if (pred(cp)) r.emplace_back(i, i + len);
            i += len;
        }
    };
}

std::unique_ptr<PreTokenizer> make_one(const nlohmann::json& j, bool& byte_level) {
    const std::string type = j.value("type", "");
    if (type == "ByteLevel") {
        byte_level = true;
        return std::make_unique<ByteLevel>(j.value("add_prefix_space", true), j.value("use_regex", true));
    }
    if (byte_level) throw TokenizerError("unsupported pre-tokenizer order: " + type + " after ByteLevel");
    if (type == "Split") {
        const auto& pat = j.at("pattern");
        const std::string p = pat.contains("Regex") ? pat.at("Regex").get<std::string>()
                                                    : regex_escape(pat.at("String").get<std::string>());
        return std::make_unique<Split>(regex_matcher(p), parse_behavior(j.at("behavior").get<std::string>()),
                                       j.value("invert", false));
    }
    if (type == "Digits") {
        const bool individual = j.value("individual_digits", false);
        return std::make_unique<Split>(char_matcher(unicode::is_numeric),
                                       individual ? Behavior::Isolated : Behavior::Contiguous, false);
    }
    if (type == "Whitespace")
        return std::make_unique<Split>(regex_matcher(R"(\w+|[^\w\s]+)"), Behavior::Removed, true);
    if (type == "WhitespaceSplit")
        return std::make_unique<Split>(char_matcher(unicode::is_whitespace), Behavior::Removed, false);
    if (type == "Sequence") {
        std::vector<std::unique_ptr<PreTokenizer>> v;
        for (const auto& p : j.at("pretokenizers")) v.push_back(make_one(p, byte_level));
        return std::make_unique<Sequence>(std::move(v));
    }
    throw TokenizerError("unsupported pre-tokenizer type \"" + type +
                         "\" (supported: ByteLevel, Split, Digits, Whitespace, WhitespaceSplit, Sequence)");
}

}  // namespace

PreTokenizerSpec make_pretokenizer(const nlohmann::json& j) {
    PreTokenizerSpec spec;
    if (j.is_null()) return spec;
    spec.pre = make_one(j, spec.byte_level);
    return spec;
}

}  // namespace m1::tok
