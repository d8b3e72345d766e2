// Command-line pieces the benchmarks share.
#pragma once
#include <sstream>
#include <string>
#include <vector>

namespace m1::bench {

// "8192,32768,131072" -> {8192, 32768, 131072}; a bad entry throws std::invalid_argument (std::stoll).
template <class T = long long>
std::vector<T> int_list(const std::string& s) {
    std::vector<T> v;
    std::stringstream ss(s);
    for (std::string x; std::getline(ss, x, ',');) v.push_back(static_cast<T>(std::stoll(x)));
    return v;
}

}  // namespace m1::bench
