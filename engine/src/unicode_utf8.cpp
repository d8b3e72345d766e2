// UTF-8 decoding with WHATWG/Rust "maximal subpart" replacement, encoding and validation.
#include "unicode_utf8.h"

namespace m1::unicode {

uint32_t decode_utf8(std::string_view s, size_t i, size_t& len, bool& valid) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data()) + i;
    const size_t left = s.size() - i;
    const unsigned c0 = p[0];
    valid = true;
    if (c0 < 0x80) { len = 1; return c0; }
    // Expected length and the allowed range of the second byte (excludes overlongs and surrogates).
    unsigned need, lo = 0x80, hi = 0xBF;
    uint32_t cp;
    if (c0 >= 0xC2 && c0 <= 0xDF) { need = 1; cp = c0 & 0x1F; }
    else if (c0 >= 0xE0 && c0 <= 0xEF) {
        need = 2; cp = c0 & 0x0F;
        if (c0 == 0xE0) lo = 0xA0;
        if (c0 == 0xED) hi = 0x9F;
    } else if (c0 >= 0xF0 && c0 <= 0xF4) {
        need = 3; cp = c0 & 0x07;
        if (c0 == 0xF0) lo = 0x90;
        if (c0 == 0xF4) hi = 0x8F;
    } else { len = 1; valid = false; return kReplacement; }
    size_t k = 1;
    for (; k <= need; ++k) {
        if (k >= left) break;
        const unsigned c = p[k];
        if (k == 1 ? (c < lo || c > hi) : (c < 0x80 || c > 0xBF)) break;
        cp = (cp << 6) | (c & 0x3F);
    }
    if (k <= need) { len = k; valid = false; return kReplacement; }
    len = need + 1;
    return cp;
}

void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) { out += static_cast<char>(cp); return; }
    char b[4];
    size_t n;
    if (cp < 0x800) { b[0] = char(0xC0 | (cp >> 6)); b[1] = char(0x80 | (cp & 0x3F)); n = 2; }
    else if (cp < 0x10000) {
        b[0] = char(0xE0 | (cp >> 12)); b[1] = char(0x80 | ((cp >> 6) & 0x3F)); b[2] = char(0x80 | (cp & 0x3F)); n = 3;
    } else {
        b[0] = char(0xF0 | (cp >> 18)); b[1] = char(0x80 | ((cp >> 12) & 0x3F));
        b[2] = char(0x80 | ((cp >> 6) & 0x3F)); b[3] = char(0x80 | (cp & 0x3F)); n = 4;
    }
    out.append(b, n);
}

bool is_valid_utf8(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
        // Skip ASCII eight bytes at a time.
        while (i + 8 <= s.size()) {
            uint64_t w;
            __builtin_memcpy(&w, s.data() + i, 8);
            if (w & 0x8080808080808080ull) break;
            i += 8;
        }
        if (i >= s.size()) break;
        if (static_cast<unsigned char>(s[i]) < 0x80) { ++i; continue; }
        size_t len;
        bool valid;
        decode_utf8(s, i, len, valid);
        if (!valid) return false;
        i += len;
    }
    return true;
}

std::string sanitize_utf8(std::string_view s) {
    if (is_valid_utf8(s)) return std::string(s);
    std::string out;
    out.reserve(s.size() + 16);
    for (size_t i = 0; i < s.size();) {
        size_t len;
        bool valid;
        uint32_t cp = decode_utf8(s, i, len, valid);
        if (valid) out.append(s.data() + i, len);
        else append_utf8(out, cp);
        i += len;
    }
    return out;
}

size_t incomplete_utf8_tail(std::string_view s) {
    // A lead byte within the last 3 bytes whose sequence runs past the end, with valid bytes so far.
    for (size_t back = 1; back <= 3 && back <= s.size(); ++back) {
        const unsigned c = static_cast<unsigned char>(s[s.size() - back]);
        if ((c & 0xC0) == 0x80) continue;  // continuation byte: look further back
        if (c < 0xC2 || c > 0xF4) return 0;
        const size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
        if (need <= back) return 0;  // complete (or invalid, which is decided by the decoder)
        size_t len;
        bool valid;
        // Probe: the bytes present decode as a truncated sequence consuming all of them.
        decode_utf8(s, s.size() - back, len, valid);
        return (!valid && len == back) ? back : 0;
    }
    return 0;
}

}  // namespace m1::unicode
