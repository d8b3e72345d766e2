// XXH3-128 of token-id prefixes (see prefix_hash.h).
#include "storage/prefix_hash.h"

#include <xxhash.h>

#include <bit>
#include <memory>
#include <stdexcept>

namespace m1::storage {

static_assert(std::endian::native == std::endian::little, "token hashes assume a little-endian host");

static std::string to_hex(XXH128_hash_t h) {
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, h);
    static const char* kDigits = "0123456789abcdef";
    std::string s(32, '0');
    for (int i = 0; i < 16; ++i) {
        s[2 * i] = kDigits[c.digest[i] >> 4];
        s[2 * i + 1] = kDigits[c.digest[i] & 15];
    }
    return s;
}

std::string tokenPrefixHash(std::span<const int32_t> ids) {
    return to_hex(XXH3_128bits(ids.data(), ids.size_bytes()));
}

std::vector<std::string> tokenPrefixHashes(std::span<const int32_t> ids, const std::vector<int64_t>& lengths) {
    std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> st(XXH3_createState(), XXH3_freeState);
    if (!st) throw std::bad_alloc();
    XXH3_128bits_reset(st.get());
    std::vector<std::string> out;
    out.reserve(lengths.size());
    int64_t done = 0;
    for (int64_t len : lengths) {
        if (len < done || len > static_cast<int64_t>(ids.size()))
            throw std::invalid_argument("tokenPrefixHashes: lengths must ascend and stay within the ids");
        XXH3_128bits_update(st.get(), ids.data() + done, static_cast<size_t>(len - done) * sizeof(int32_t));
        done = len;
        // The digest of a streaming state equals the one-shot hash of everything fed so far.
        out.push_back(to_hex(XXH3_128bits_digest(st.get())));
    }
    return out;
}

}  // namespace m1::storage
