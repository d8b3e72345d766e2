// `m1 version`: version, commit and build options.
#include <iostream>

#include "cli.h"
#include "m1/build_info.h"

namespace m1::cli {

static int run_version(const Args&) {
    for (const auto& [k, v] : m1::build_info_lines()) std::cout << k << ": " << v << "\n";
    return 0;
}

static Registrar reg({"version", "print the version, git commit and build options", "", {}, 0, run_version, 0});

}  // namespace m1::cli
