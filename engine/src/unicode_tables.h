// Declarations of the generated Unicode tables (engine/src/unicode_data.cpp, made by
// tests/tools/tokenizer_gen_unicode.py). All arrays are sorted by code point.
#pragma once
#include <cstddef>
#include <cstdint>

namespace m1::unicode {

struct Range { uint32_t first, last; };                 // inclusive
struct ClassEntry { uint32_t cp; uint8_t ccc; };         // canonical combining class != 0
struct Decomposition { uint32_t cp, offset, length; };  // full (recursive) mapping in the pool
struct Composition { uint32_t first, second, composed; };  // sorted by (first, second)

extern const Range kUnstableNfc[], kUnstableNfkc[], kWhiteSpace[], kNumeric[];
extern const size_t kUnstableNfc_size, kUnstableNfkc_size, kWhiteSpace_size, kNumeric_size;
extern const ClassEntry kCombiningClass[];
extern const size_t kCombiningClass_size;
extern const uint32_t kNfdPool[], kNfkdPool[];
extern const Decomposition kNfd[], kNfkd[];
extern const size_t kNfd_size, kNfkd_size;
extern const Composition kCompose[];
extern const size_t kCompose_size;

}  // namespace m1::unicode
