// m1: the command-line front end. Each subcommand lives in its own cmd_*.cpp and registers itself.
#include "cli.h"

int main(int argc, char** argv) { return m1::cli::dispatch(argc, argv, m1::cli::all_commands()); }
