// The packer's small pieces: policy names, the map as JSON, and lookup of a token in the map.
#include <nlohmann/json.hpp>

#include <algorithm>

#include "ingest/packer.h"

namespace m1::ingest {

const char* policy_name(OverflowPolicy p) {
    switch (p) {
        case OverflowPolicy::Refuse: return "refuse";
        case OverflowPolicy::Drop: return "drop";
        case OverflowPolicy::Trim: return "trim";
    }
    return "refuse";
}

std::optional<OverflowPolicy> parse_policy(const std::string& s) {
    if (s == "refuse") return OverflowPolicy::Refuse;
    if (s == "drop") return OverflowPolicy::Drop;
    if (s == "trim") return OverflowPolicy::Trim;
    return std::nullopt;
}

std::string PackResult::map_json() const {
    using nlohmann::json;
    json j;
    j["version"] = 1;
    j["tokenizer"] = tokenizer_label;
    j["tokens_exact"] = tokens_exact;
    j["total_tokens"] = total_tokens;
    j["budget_tokens"] = budget_tokens;
    j["text_bytes"] = text.size();
    json docs = json::array();
    for (size_t i = 0; i < documents.size(); ++i) {
        const auto& d = documents[i];
        docs.push_back({{"index", i}, {"path", d.path}, {"title", d.title}, {"kind", d.kind},
                        {"token_begin", d.token_begin}, {"token_end", d.token_end}, {"tokens_full", d.tokens_full},
                        {"tokens_kept", d.tokens_kept}, {"fate", d.fate}});
    }
    j["documents"] = std::move(docs);
    json ranges = json::array();
    for (const auto& r : this->ranges) {
        json x = {{"token_begin", r.token_begin}, {"token_end", r.token_end}, {"byte_begin", r.byte_begin},
                  {"byte_end", r.byte_end}, {"doc", r.doc}};
        if (!r.file.empty()) x["file"] = r.file;
        if (r.page) x["page"] = r.page;
        if (!r.page_label.empty()) x["page_label"] = r.page_label;
        if (r.line_begin) x["line_begin"] = r.line_begin, x["line_end"] = r.line_end;
        ranges.push_back(std::move(x));
    }
    j["ranges"] = std::move(ranges);
    j["report"] = report;
    return j.dump(1, ' ', false, json::error_handler_t::replace) + "\n";
}

const MapRange* PackResult::range_at_token(int64_t t) const {
    auto it = std::upper_bound(ranges.begin(), ranges.end(), t,
                               [](int64_t v, const MapRange& r) { return v < r.token_end; });
    if (it == ranges.end() || t < it->token_begin) return nullptr;
    return &*it;
}

}  // namespace m1::ingest
