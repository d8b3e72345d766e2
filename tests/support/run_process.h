// Runs a command line through /bin/sh for CLI tests: exit code, stdout and stderr captured.
#pragma once
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace m1::test {

struct ProcessResult {
    int exit_code = -1;
    std::string out, err;
};

inline std::string m1_binary() {
    const char* b = std::getenv("M1_BIN");
    return b ? b : "m1";
}

inline ProcessResult run_process(const std::string& cmdline) {
    char tmpl[] = "/tmp/m1-test-stderr-XXXXXX";
    int fd = mkstemp(tmpl);
    if (fd >= 0) close(fd);
    ProcessResult r;
    std::string full = cmdline + " 2>" + tmpl;
    FILE* p = popen(full.c_str(), "r");
    if (!p) return r;
    std::array<char, 4096> buf;
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
    int status = pclose(p);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::ifstream ef(tmpl);
    std::stringstream ss;
    ss << ef.rdbuf();
    r.err = ss.str();
    std::remove(tmpl);
    return r;
}

}  // namespace m1::test
