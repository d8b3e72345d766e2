// Argument parsing and dispatch for m1; see cli.h.
#include "cli.h"

#include <cstdio>
#include <cstdlib>
#include <iostream>

namespace m1::cli {

std::string Args::get(const std::string& name, const std::string& fallback) const {
    auto it = values_.find(name);
    return it == values_.end() || it->second.empty() ? fallback : it->second.back();
}

std::vector<std::string> Args::get_all(const std::string& name) const {
    auto it = values_.find(name);
    return it == values_.end() ? std::vector<std::string>{} : it->second;
}

int64_t Args::get_int(const std::string& name, int64_t fallback) const {
    if (!has(name)) return fallback;
    const std::string v = get(name);
    char* end = nullptr;
    long long x = std::strtoll(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0') throw UsageError("--" + name + " expects an integer, got '" + v + "'");
    return x;
}

double Args::get_double(const std::string& name, double fallback) const {
    if (!has(name)) return fallback;
    const std::string v = get(name);
    char* end = nullptr;
    double x = std::strtod(v.c_str(), &end);
    if (v.empty() || *end != '\0') throw UsageError("--" + name + " expects a number, got '" + v + "'");
    return x;
}

static const Flag* find_flag(const Command& cmd, const std::string& name) {
    for (const Flag& f : cmd.flags)
        if (f.name == name) return &f;
    return nullptr;
}

Args parse(const Command& cmd, int argc, char** argv, int first) {
    Args args;
    for (int i = first; i < argc; ++i) {
        std::string a = argv[i];
        if (a.size() > 2 && a.rfind("--", 0) == 0) {
            std::string name = a.substr(2), value;
            bool inline_value = false;
            if (auto eq = name.find('='); eq != std::string::npos) {
                value = name.substr(eq + 1);
                name = name.substr(0, eq);
                inline_value = true;
            }
            const Flag* f = find_flag(cmd, name);
            if (!f) throw UsageError("unknown option --" + name + " for '" + cmd.name + "'");
            if (f->takes_value && !inline_value) {
                if (i + 1 >= argc) throw UsageError("--" + name + " needs a value");
                value = argv[++i];
            } else if (!f->takes_value && inline_value) {
                throw UsageError("--" + name + " takes no value");
            }
            if (args.has(name) && !f->repeatable) throw UsageError("--" + name + " given twice");
            args.add(name, value);
        } else {
            if (cmd.max_positional >= 0 && (int)args.positional().size() >= cmd.max_positional)
                throw UsageError("unexpected argument '" + a + "' for '" + cmd.name + "'");
            args.add_positional(a);
        }
    }
    return args;
}

static void print_command_help(const Command& c, std::ostream& os) {
    os << "usage: m1 " << c.name << " " << c.usage << "\n  " << c.summary << "\n";
    for (const Flag& f : c.flags)
        os << "  --" << f.name << (f.takes_value ? " V" : "") << std::string(f.name.size() < 16 ? 18 - f.name.size() - (f.takes_value ? 2 : 0) : 1, ' ')
           << f.help << "\n";
}

static void print_help(const std::vector<Command>& commands, std::ostream& os) {
    os << "m1: read whole corpora with MiniMax-M1\n\nusage: m1 <command> [options]\n\ncommands:\n";
    for (const Command& c : commands) os << "  " << c.name << std::string(c.name.size() < 12 ? 13 - c.name.size() : 1, ' ') << c.summary << "\n";
    os << "\n`m1 <command> --help` shows a command's options.\n";
}

int dispatch(int argc, char** argv, const std::vector<Command>& commands) {
    if (argc < 2) {
        print_help(commands, std::cerr);
        return 2;
    }
    std::string name = argv[1];
    if (name == "--help" || name == "-h" || name == "help") {
        print_help(commands, std::cout);
        return 0;
    }
    if (name == "--version") name = "version";
    for (const Command& c : commands) {
        if (c.name != name) continue;
        for (int i = 2; i < argc; ++i) {
            std::string a = argv[i];
            if (a == "--help" || a == "-h") {
                print_command_help(c, std::cout);
                return 0;
            }
        }
        try {
            Args args = parse(c, argc, argv, 2);
            return c.run(args);
        } catch (const UsageError& e) {
            std::cerr << "m1 " << c.name << ": " << e.what() << "\nusage: m1 " << c.name << " " << c.usage
                      << "\n";
            return 2;
        } catch (const std::exception& e) {
            std::cerr << "m1 " << c.name << ": error: " << e.what() << "\n";
            return 1;
        }
    }
    std::cerr << "m1: unknown command '" << name << "'. Run `m1 --help` for the list.\n";
    return 2;
}

}  // namespace m1::cli
