// What this build of M1 Studio contains, for `m1 version` and bug reports.
#pragma once
#include <string>
#include <vector>
#include <utility>

namespace m1 {

struct BuildInfo {
    std::string version;   // "0.1.0"
    std::string commit;    // short git hash at configure time
    std::string compiler;  // "GNU 12.2.0"
    std::string blas;      // "OpenBLAS" or "none (built-in GEMM)"
    bool cuda = false;
    std::string cuda_version;  // toolkit built against, "13.0.x"
    bool nccl = false;
    std::string nccl_version;  // "2.28.9"
    std::string qt_version;    // empty in engine-only builds
};

BuildInfo build_info();
// Key/value lines ready to print ("cuda: on (13.0.88, runtime 13.0, driver 13.0)").
std::vector<std::pair<std::string, std::string>> build_info_lines();

}  // namespace m1
