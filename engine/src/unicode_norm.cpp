// Unicode normalization: decompose (tables + Hangul arithmetic), canonical reordering, canonical
// composition. Only the stretches of text around code points that can change are rewritten.
#include "unicode_norm.h"

#include <algorithm>
#include <vector>

#include "unicode_tables.h"
#include "unicode_utf8.h"

namespace m1::unicode {
namespace {

constexpr uint32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr uint32_t kLCount = 19, kVCount = 21, kTCount = 28, kSCount = kLCount * kVCount * kTCount;

bool in_ranges(const Range* r, size_t n, uint32_t cp) {
    const Range* end = r + n;
    const Range* it = std::upper_bound(r, end, cp, [](uint32_t v, const Range& x) { return v < x.first; });
    return it != r && cp <= (it - 1)->last;
}

bool compat(NormalForm f) { return f == NormalForm::NFKC || f == NormalForm::NFKD; }
bool composes(NormalForm f) { return f == NormalForm::NFC || f == NormalForm::NFKC; }

// Stable: unchanged by the form whatever surrounds it, and never combines with what precedes it.
bool is_stable(uint32_t cp, NormalForm f) {
    if (cp < 0x80) return true;
    if (f == NormalForm::NFC && cp < 0x300) return true;  // Latin-1 is NFC-stable (not NFD-stable)
    return compat(f) ? !in_ranges(kUnstableNfkc, kUnstableNfkc_size, cp) : !in_ranges(kUnstableNfc, kUnstableNfc_size, cp);
}

void decompose(uint32_t cp, NormalForm f, std::vector<uint32_t>& out) {
    if (cp >= kSBase && cp < kSBase + kSCount) {
        const uint32_t s = cp - kSBase;
        out.push_back(kLBase + s / (kVCount * kTCount));
        out.push_back(kVBase + (s % (kVCount * kTCount)) / kTCount);
        if (s % kTCount) out.push_back(kTBase + s % kTCount);
        return;
    }
    const Decomposition* table = compat(f) ? kNfkd : kNfd;
    const size_t n = compat(f) ? kNfkd_size : kNfd_size;
    const uint32_t* pool = compat(f) ? kNfkdPool : kNfdPool;
    const Decomposition* it = std::lower_bound(table, table + n, cp, [](const Decomposition& d, uint32_t v) { return d.cp < v; });
    if (it != table + n && it->cp == cp) out.insert(out.end(), pool + it->offset, pool + it->offset + it->length);
    else out.push_back(cp);
}

uint32_t compose_pair(uint32_t a, uint32_t b) {
    if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount)
        return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
    if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase && b < kTBase + kTCount)
        return a + (b - kTBase);
    const Composition* end = kCompose + kCompose_size;
    const Composition* it = std::lower_bound(kCompose, end, std::pair{a, b}, [](const Composition& c, std::pair<uint32_t, uint32_t> v) {
        return c.first != v.first ? c.first < v.first : c.second < v.second;
    });
    return (it != end && it->first == a && it->second == b) ? it->composed : 0;
}

// Full normalization of one stretch of code points.
void normalize_stretch(const std::vector<uint32_t>& in, NormalForm f, std::string& out) {
    std::vector<uint32_t> d;
    for (uint32_t cp : in) decompose(cp, f, d);
    // Canonical ordering: stable sort of each run of non-starters by combining class.
    for (size_t i = 0; i < d.size();) {
        if (combining_class(d[i]) == 0) { ++i; continue; }
        size_t j = i;
        while (j < d.size() && combining_class(d[j]) != 0) ++j;
        std::stable_sort(d.begin() + i, d.begin() + j, [](uint32_t a, uint32_t b) { return combining_class(a) < combining_class(b); });
        i = j;
    }
    if (composes(f)) {
        std::vector<uint32_t> r;
        long starter = -1;
        int last_cc = 0;
        for (uint32_t c : d) {
            const int cc = combining_class(c);
            const bool adjacent = starter >= 0 && static_cast<size_t>(starter) + 1 == r.size();
            if (starter >= 0 && (adjacent || (last_cc != 0 && last_cc < cc))) {
                if (uint32_t k = compose_pair(r[starter], c)) { r[starter] = k; continue; }
            }
            if (cc == 0) starter = static_cast<long>(r.size());
            last_cc = cc;
            r.push_back(c);
        }
        d.swap(r);
    }
    for (uint32_t cp : d) append_utf8(out, cp);
}

}  // namespace

uint8_t combining_class(uint32_t cp) {
    if (cp < 0x300) return 0;
    const ClassEntry* end = kCombiningClass + kCombiningClass_size;
    const ClassEntry* it = std::lower_bound(kCombiningClass, end, cp, [](const ClassEntry& e, uint32_t v) { return e.cp < v; });
    return (it != end && it->cp == cp) ? it->ccc : 0;
}

bool is_whitespace(uint32_t cp) {
    if (cp < 0x80) return cp == ' ' || (cp >= 0x09 && cp <= 0x0D);
    return in_ranges(kWhiteSpace, kWhiteSpace_size, cp);
}

bool is_numeric(uint32_t cp) {
    if (cp < 0x80) return cp >= '0' && cp <= '9';
    return in_ranges(kNumeric, kNumeric_size, cp);
}

std::string normalize(std::string_view s, NormalForm f) {
    // Find the first unstable code point; most text has none.
    size_t i = 0, last_stable = 0;
    for (; i < s.size();) {
        if (static_cast<unsigned char>(s[i]) < 0x80) { last_stable = i++; continue; }
        size_t len;
        const uint32_t cp = decode_utf8(s, i, len);
        if (!is_stable(cp, f)) break;
        last_stable = i;
        i += len;
    }
    if (i >= s.size()) return std::string(s);
    std::string out(s.substr(0, last_stable));
    std::vector<uint32_t> stretch;
    size_t pos = last_stable;  // start of the stretch: the last stable code point (a starter) before the change
    while (pos < s.size()) {
        // Stretch = one stable code point (if any) followed by unstable ones.
        stretch.clear();
        size_t j = pos;
        bool first = true;
        while (j < s.size()) {
            size_t len;
            const uint32_t cp = decode_utf8(s, j, len);
            if (!first && is_stable(cp, f)) break;
            stretch.push_back(cp);
            first = false;
            j += len;
        }
        normalize_stretch(stretch, f, out);
        // Copy stable text up to the stable code point preceding the next unstable one.
        size_t k = j, keep_from = j;
        while (k < s.size()) {
            size_t len;
            const uint32_t cp = decode_utf8(s, k, len);
            if (!is_stable(cp, f)) break;
            keep_from = k;
            k += len;
        }
        if (k >= s.size()) { out.append(s.substr(j)); break; }
        out.append(s.substr(j, keep_from - j));
        pos = keep_from;
    }
    return out;
}

}  // namespace m1::unicode
