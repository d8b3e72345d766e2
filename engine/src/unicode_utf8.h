// UTF-8 helpers for the tokenizer: decode one code point (with the same replacement rule as HF/Rust's
// from_utf8_lossy and Python's errors="replace"), encode, and make any byte string valid UTF-8.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace m1::unicode {

constexpr uint32_t kReplacement = 0xFFFD;

// Decodes the code point at s[i]; sets `len` to the bytes consumed. An invalid sequence yields
// U+FFFD and consumes its maximal invalid subpart (at least one byte).
uint32_t decode_utf8(std::string_view s, size_t i, size_t& len, bool& valid);
inline uint32_t decode_utf8(std::string_view s, size_t i, size_t& len) {
    bool valid;
    return decode_utf8(s, i, len, valid);
}
void append_utf8(std::string& out, uint32_t cp);
// True when s is valid UTF-8 (fast path for ASCII).
bool is_valid_utf8(std::string_view s);
// s with every invalid sequence replaced by U+FFFD.
std::string sanitize_utf8(std::string_view s);
// Length of a trailing, possibly incomplete UTF-8 sequence at the end of s that could still become
// valid with more bytes (0 if s ends on a character boundary or the tail is already invalid).
size_t incomplete_utf8_tail(std::string_view s);

}  // namespace m1::unicode
