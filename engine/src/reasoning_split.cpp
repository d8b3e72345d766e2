// Streaming <think>...</think> splitter: a small state machine over a buffer of text that is not yet
// attributed (a possible partial tag, or whitespace that may sit just before </think>).
#include "m1/reasoning_split.h"

#include <algorithm>

namespace m1 {
namespace {

constexpr std::string_view kOpen = "<think>", kClose = "</think>";

bool is_ws(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

size_t leading_ws(std::string_view s) {
    size_t i = 0;
    while (i < s.size() && is_ws(s[i])) ++i;
    return i;
}

// Length of the longest suffix of s that is a proper prefix of tag (text that may become the tag).
size_t partial_tag_suffix(std::string_view s, std::string_view tag) {
    for (size_t n = std::min(s.size(), tag.size() - 1); n > 0; --n)
        if (s.substr(s.size() - n) == tag.substr(0, n)) return n;
    return 0;
}

}  // namespace

void ReasoningSplitter::emit(Piece& out, std::string_view text) const {
    (state_ == State::Reasoning ? out.reasoning : out.answer) += text;
}

void ReasoningSplitter::process(Piece& out) {
    for (;;) {
        if (state_ == State::Start) {
            const std::string_view rest = std::string_view(pending_).substr(leading_ws(pending_));
            if (rest.substr(0, kOpen.size()) == kOpen) {
                pending_.erase(0, pending_.size() - rest.size() + kOpen.size());
                state_ = State::Reasoning;
                saw_open_ = strip_ws_ = true;
                continue;
            }
            if (kOpen.substr(0, rest.size()) == rest) return;  // may still become <think>
            state_ = State::Answer;
            continue;
        }
        if (strip_ws_) {
            pending_.erase(0, leading_ws(pending_));
            if (pending_.empty()) return;
            strip_ws_ = false;
        }
        if (state_ == State::Answer) {
            emit(out, pending_);
            pending_.clear();
            return;
        }
        // Reasoning: up to </think>, without the whitespace before it.
        const size_t close = pending_.find(kClose);
        if (close != std::string::npos) {
            size_t end = close;
            while (end > 0 && is_ws(pending_[end - 1])) --end;
            emit(out, std::string_view(pending_).substr(0, end));
            pending_.erase(0, close + kClose.size());
            state_ = State::Answer;
            strip_ws_ = true;
            continue;
        }
        size_t keep = partial_tag_suffix(pending_, kClose);
        while (keep < pending_.size() && is_ws(pending_[pending_.size() - keep - 1])) ++keep;
        emit(out, std::string_view(pending_).substr(0, pending_.size() - keep));
        pending_.erase(0, pending_.size() - keep);
        return;
    }
}

ReasoningSplitter::Piece ReasoningSplitter::feed(std::string_view text) {
    Piece out;
    pending_ += text;
    process(out);
    return out;
}

ReasoningSplitter::Piece ReasoningSplitter::finish() {
    Piece out;
    if (state_ == State::Start) state_ = State::Answer;  // never became <think>
    if (!(strip_ws_ && leading_ws(pending_) == pending_.size())) emit(out, pending_);
    pending_.clear();
    return out;
}

}  // namespace m1
