// The table of m1 subcommands. Commands under qt/ need ingest/storage and are absent in engine-only builds.
#include "commands.h"

namespace m1::cli {

std::vector<Command> all_commands() {
    std::vector<Command> c;
    c.push_back(version_command());
    return c;
}

}  // namespace m1::cli
