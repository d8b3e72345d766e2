// Unicode normalization (NFC, NFD, NFKC, NFKD) and the character classes the tokenizer needs, on UTF-8
// strings. Text that is already normalized (all ASCII, most text) passes through a fast path unchanged.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace m1::unicode {

enum class NormalForm { NFC, NFD, NFKC, NFKD };

// Input must be valid UTF-8.
std::string normalize(std::string_view s, NormalForm form);
// Unicode White_Space (what Rust's char::is_whitespace and regex \s use).
bool is_whitespace(uint32_t cp);
// General category Nd, Nl or No (Rust's char::is_numeric).
bool is_numeric(uint32_t cp);
uint8_t combining_class(uint32_t cp);

}  // namespace m1::unicode
