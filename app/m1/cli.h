// The m1 command line: a table of subcommands, each with the flags it accepts.
// Unknown subcommands and flags are usage errors (exit 2); failures at run time exit 1.
#pragma once
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace m1::cli {

struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct Flag {
    std::string name;     // "model" for --model
    bool takes_value;     // --model DIR vs --json
    std::string help;     // one line
    bool repeatable = false;
};

class Args {
public:
    bool has(const std::string& name) const { return values_.count(name) > 0; }
    std::string get(const std::string& name, const std::string& fallback = "") const;
    std::vector<std::string> get_all(const std::string& name) const;
    int64_t get_int(const std::string& name, int64_t fallback) const;
    double get_double(const std::string& name, double fallback) const;
    const std::vector<std::string>& positional() const { return positional_; }

    void add(const std::string& name, const std::string& value) { values_[name].push_back(value); }
    void add_positional(const std::string& v) { positional_.push_back(v); }

private:
    std::map<std::string, std::vector<std::string>> values_;
    std::vector<std::string> positional_;
};

struct Command {
    std::string name;        // "generate"
    std::string summary;     // one line for `m1 --help`
    std::string usage;       // "--model DIR (--prompt S | --ids FILE) [...]"
    std::vector<Flag> flags;
    int max_positional = 0;  // -1: any number (ingest PATH...)
    int (*run)(const Args&) = nullptr;
    int order = 100;         // position in `m1 --help` (lower first)
};

// Parses argv for one command; throws UsageError.
Args parse(const Command& cmd, int argc, char** argv, int first);
int dispatch(int argc, char** argv, const std::vector<Command>& commands);

// Each cmd_*.cpp registers its command with a file-scope `static Registrar r{...};`,
// so adding a command never edits a shared file.
struct Registrar {
    explicit Registrar(Command c);
};
std::vector<Command> all_commands();

}  // namespace m1::cli
