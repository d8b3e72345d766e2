// Every subcommand's factory; commands.cpp lists them in the order `m1 --help` shows.
#pragma once
#include <vector>

#include "cli.h"

namespace m1::cli {
std::vector<Command> all_commands();
}  // namespace m1::cli
