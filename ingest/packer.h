// The packer: documents + a question -> one deterministic prompt text, its token ids, a map from token
// ranges back to documents/pages/files/lines (for citations), and a budget report (never a silent cut).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ingest/document.h"

namespace m1 {
class Tokenizer;  // engine/include/m1/tokenizer.h
}

namespace m1::ingest {

enum class OverflowPolicy { Refuse, Drop, Trim };  // refuse | drop the last documents | trim each evenly
const char* policy_name(OverflowPolicy p);
std::optional<OverflowPolicy> parse_policy(const std::string& s);

struct PackOptions {
    int64_t budget_tokens = 1000000;  // context window
    int64_t reserved_output = 32768;  // kept free for reasoning + answer
    OverflowPolicy policy = OverflowPolicy::Refuse;
    int segment_lines = 40;  // map granularity: a map range covers at most this many lines
};

// One contiguous stretch of the packed text, tokenized on its own. Token ids of the whole pack are the
// concatenation of the segments' ids, so ranges are exact.
struct MapRange {
    int64_t token_begin = 0, token_end = 0;  // [begin, end) in PackResult::token_ids
    int64_t byte_begin = 0, byte_end = 0;    // [begin, end) in PackResult::text (UTF-8 bytes)
    int doc = -1;                            // index into PackResult::documents; -1: header/question/markup
    std::string file;                        // file inside a folder/archive, else empty
    int page = 0;                            // PDF page (1-based), else 0
    std::string page_label;
    int line_begin = 0, line_end = 0;        // 1-based lines of the page or file, inclusive; 0 for markup
};

struct PackedDoc {
    std::string path, title, kind;
    int64_t token_begin = 0, token_end = 0;
    int64_t tokens_full = 0;  // tokens the document would take untrimmed
    int64_t tokens_kept = 0;
    std::string fate;         // "kept", "trimmed", "dropped", "rejected" (an ingest rejection: not packed)
};

struct PackResult {
    bool ok = false;             // false: refused (over budget with policy refuse) or nothing to pack
    std::string text;            // the prompt (UTF-8)
    std::vector<int32_t> token_ids;  // canonical tokenization of `text`: use these, do not re-encode
    bool tokens_exact = false;   // false: no tokenizer given, counts are an estimate and token_ids is empty
    std::string tokenizer_label; // "tokenizer (vocab 1024)" or "estimate (bytes/4)"
    int64_t total_tokens = 0;
    int64_t budget_tokens = 0;   // budget minus reserved output
    std::vector<PackedDoc> documents;
    std::vector<MapRange> ranges;  // sorted, covering [0, total_tokens) without gaps
    std::vector<std::string> report;  // what did not fit and what was done about it; empty when all fit

    std::string map_json() const;                   // the map as JSON (documents + ranges + totals)
    const MapRange* range_at_token(int64_t t) const;  // nullptr when out of range
};

// Packs `docs` (rejected ones are listed in the report and left out) followed by `question`.
// `tokenizer` may be null: counts are then estimated and labelled so.
PackResult pack(const std::vector<Document>& docs, const std::string& question, const PackOptions& options = {},
                const m1::Tokenizer* tokenizer = nullptr);

}  // namespace m1::ingest
