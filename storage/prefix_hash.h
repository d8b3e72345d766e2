// The key half of a snapshot that names its exact token prefix: XXH3-128 of the token ids, stored as
// 32 lowercase hex digits. Hashing runs incrementally, so every prefix length costs one pass.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace m1::storage {

// Hash of ids as little-endian int32 values.
std::string tokenPrefixHash(std::span<const int32_t> ids);

// Hashes of ids[0:len] for each len in `lengths` (ascending, each <= ids.size()), in one pass.
std::vector<std::string> tokenPrefixHashes(std::span<const int32_t> ids, const std::vector<int64_t>& lengths);

}  // namespace m1::storage
