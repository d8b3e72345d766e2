// The registry of m1 subcommands, filled by each cmd_*.cpp at static-initialization time.
#include <algorithm>

#include "cli.h"

namespace m1::cli {

static std::vector<Command>& registry() {
    static std::vector<Command> commands;
    return commands;
}

Registrar::Registrar(Command c) { registry().push_back(std::move(c)); }

std::vector<Command> all_commands() {
    std::vector<Command> c = registry();
    std::stable_sort(c.begin(), c.end(), [](const Command& a, const Command& b) { return a.order < b.order; });
    return c;
}

}  // namespace m1::cli
