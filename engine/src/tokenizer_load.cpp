// Loading a tokenizer: tokenizer.json (HF format), or GPT-2 style vocab.json + merges.txt with the
// special tokens named in tokenizer_config.json / special_tokens_map.json.
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "tokenizer_impl.h"

namespace m1 {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string read_file(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    if (!f) throw TokenizerError("cannot open " + p.string());
    std::ostringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

using Merges = std::vector<std::pair<std::string, std::string>>;

void add_merge(const json& e, Merges& merges) {
    if (e.is_string()) {
        const std::string& s = e.get_ref<const std::string&>();
        const size_t sp = s.find(' ');
        if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
            throw TokenizerError("merge \"" + s + "\" is not two tokens separated by one space");
        merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
    } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
        merges.emplace_back(e[0].get<std::string>(), e[1].get<std::string>());
    } else {
        throw TokenizerError("merge entry is neither \"a b\" nor [\"a\", \"b\"]");
    }
}

// The model's vocabulary and merges (most of a 10 MB file), taken out while parsing so that they never
// become a JSON tree (which would cost more time than everything else).
struct BigParts {
    tok::StringMap vocab;
    Merges merges;
    bool has_vocab = false;
};

json parse_capturing(std::string_view text, BigParts& big) {
    std::vector<std::string> keys(8);
    auto in = [&](const char* a, const char* b) { return keys[1] == a && keys[2] == b; };
    return json::parse(text.begin(), text.end(), [&](int depth, json::parse_event_t ev, json& v) {
        const size_t d = static_cast<size_t>(depth);
        if (ev == json::parse_event_t::key) {
            if (d >= keys.size()) keys.resize(d + 1);
            keys[d] = v.get<std::string>();
            for (size_t k = d + 1; k < keys.size(); ++k) keys[k].clear();
            if (d == 2 && in("model", "vocab")) big.has_vocab = true;
            return true;
        }
        if (d == 3 && ev == json::parse_event_t::value && in("model", "vocab")) {
            if (!v.is_number_integer()) throw TokenizerError("vocabulary entry \"" + keys[3] + "\" has no integer id");
            big.vocab.emplace(keys[3], v.get<int32_t>());
            return false;
        }
        if (d == 3 && in("model", "merges") && (ev == json::parse_event_t::value || ev == json::parse_event_t::array_end)) {
            add_merge(v, big.merges);
            return false;
        }
        return true;
    });
}

std::unique_ptr<tok::BpeModel> make_model(const json& m, BigParts&& big, bool byte_level) {
    const std::string type = m.value("type", "BPE");
    if (type != "BPE") throw TokenizerError("unsupported model type \"" + type + "\" (only BPE)");
    if (m.contains("dropout") && !m["dropout"].is_null() && m["dropout"].get<double>() != 0.0)
        throw TokenizerError("BPE dropout is not supported");
    if (!big.has_vocab) throw TokenizerError("the BPE model has no vocab");
    tok::BpeOptions opt;
    if (m.contains("unk_token") && m["unk_token"].is_string()) opt.unk_token = m["unk_token"].get<std::string>();
    opt.fuse_unk = m.value("fuse_unk", false);
    opt.byte_fallback = m.value("byte_fallback", false);
    opt.ignore_merges = m.value("ignore_merges", false);
    if (m.contains("continuing_subword_prefix") && m["continuing_subword_prefix"].is_string())
        opt.continuing_subword_prefix = m["continuing_subword_prefix"].get<std::string>();
    if (m.contains("end_of_word_suffix") && m["end_of_word_suffix"].is_string())
        opt.end_of_word_suffix = m["end_of_word_suffix"].get<std::string>();
    return std::make_unique<tok::BpeModel>(std::move(big.vocab), big.merges, std::move(opt), byte_level);
}

}  // namespace

std::unique_ptr<Tokenizer::Impl> parse_tokenizer_json(std::string_view json_text, const std::string& origin) {
    try {
        BigParts big;
        const json j = parse_capturing(json_text, big);
        auto impl = std::make_unique<Tokenizer::Impl>();
        impl->normalizer = tok::make_normalizer(j.value("normalizer", json()));
        impl->pre = tok::make_pretokenizer(j.value("pre_tokenizer", json()));
        impl->model = make_model(j.at("model"), std::move(big), impl->pre.byte_level);
        impl->decoder = tok::make_decoder(j.value("decoder", json()));
        static const json kNone = json::array();
        for (const auto& a : j.contains("added_tokens") ? j["added_tokens"] : kNone) {
            tok::AddedToken t;
            t.id = a.at("id").get<int32_t>();
            t.content = a.at("content").get<std::string>();
            t.single_word = a.value("single_word", false);
            t.lstrip = a.value("lstrip", false);
            t.rstrip = a.value("rstrip", false);
            t.normalized = a.value("normalized", true);
            t.special = a.value("special", false);
            impl->added.push_back(std::move(t));
        }
        impl->finish_setup();
        return impl;
    } catch (const json::exception& e) {
        throw TokenizerError(origin + ": " + e.what());
    } catch (const TokenizerError& e) {
        throw TokenizerError(origin + ": " + e.what());
    }
}

std::unique_ptr<Tokenizer::Impl> load_vocab_merges(const std::string& dir) {
    const fs::path d(dir);
    const fs::path vocab_path = d / "vocab.json", merges_path = d / "merges.txt";
    try {
        json model = {{"type", "BPE"}, {"vocab", json::parse(read_file(vocab_path))}, {"merges", json::array()}};
        std::istringstream ms(read_file(merges_path));
        std::string line;
        while (std::getline(ms, line)) {
            if (!line.empty() && line.back() == '\r') line.pop_back();
            if (line.empty() || line.rfind("#version", 0) == 0) continue;
            model["merges"].push_back(line);
        }
        // GPT-2 style: byte-level with its regex; add_prefix_space from tokenizer_config.json.
        json config = json::object();
        if (fs::exists(d / "tokenizer_config.json")) config = json::parse(read_file(d / "tokenizer_config.json"));
        const bool prefix = config.value("add_prefix_space", false);
        json doc = {{"model", model},
                    {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", prefix}, {"use_regex", true}}},
                    {"decoder", {{"type", "ByteLevel"}}},
                    {"added_tokens", json::array()}};
        // Special tokens: tokenizer_config's added_tokens_decoder, then the named bos/eos/unk/pad
        // tokens (and special_tokens_map.json's) that the vocabulary holds.
        std::set<std::string> seen;
        if (config.contains("added_tokens_decoder"))
            for (auto it = config["added_tokens_decoder"].begin(); it != config["added_tokens_decoder"].end(); ++it) {
                json t = it.value();
                t["id"] = std::stoi(it.key());
                seen.insert(t.value("content", ""));
                doc["added_tokens"].push_back(t);
            }
        json names = config;
        if (fs::exists(d / "special_tokens_map.json")) names.update(json::parse(read_file(d / "special_tokens_map.json")));
        for (const char* key : {"bos_token", "eos_token", "unk_token", "pad_token"}) {
            if (!names.contains(key)) continue;
            const json& v = names[key];
            const std::string content = v.is_string() ? v.get<std::string>() : v.is_object() ? v.value("content", "") : "";
            if (content.empty() || seen.count(content) || !model["vocab"].contains(content)) continue;
            seen.insert(content);
            doc["added_tokens"].push_back({{"id", model["vocab"][content]}, {"content", content}, {"special", true},
                                           {"normalized", false}});
        }
        return parse_tokenizer_json(doc.dump(), dir);
    } catch (const json::exception& e) {
        throw TokenizerError(dir + ": " + e.what());
    }
}

}  // namespace m1
