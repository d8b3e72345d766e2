// StreamDecoder: decodes a growing window of ids and returns only the new, complete UTF-8 text.
// The window keeps the last emitted id as context, so decoders that treat the first token specially
// (Strip, Metaspace-like Replace) see the same neighbourhood as a whole decode would.
#include "m1/tokenizer.h"
#include "unicode_utf8.h"

namespace m1 {

StreamDecoder::StreamDecoder(const Tokenizer& tokenizer, bool skip_special)
    : tok_(&tokenizer), skip_special_(skip_special) {}

void StreamDecoder::reset() {
    ids_.clear();
    emitted_bytes_ = 0;
}

std::string StreamDecoder::feed(int32_t id) {
    ids_.push_back(id);
    const std::string full = tok_->decode_bytes(ids_, skip_special_);
    if (full.size() <= emitted_bytes_) return "";
    // Wait while the text ends inside a character (its remaining bytes come with later tokens), or
    // with U+FFFD that a byte-fallback decoder produced for an incomplete group.
    if (unicode::incomplete_utf8_tail(full) > 0) return "";
    if (full.size() >= 3 && full.compare(full.size() - 3, 3, "\xEF\xBF\xBD") == 0) return "";
    std::string out = unicode::sanitize_utf8(std::string_view(full).substr(emitted_bytes_));
    // Keep only the last id as context for the next step.
    ids_.erase(ids_.begin(), ids_.end() - 1);
    emitted_bytes_ = tok_->decode_bytes(ids_, skip_special_).size();
    return out;
}

std::string StreamDecoder::finish() {
    std::string out;
    const std::string full = tok_->decode_bytes(ids_, skip_special_);
    if (full.size() > emitted_bytes_) out = unicode::sanitize_utf8(std::string_view(full).substr(emitted_bytes_));
    reset();
    return out;
}

}  // namespace m1
