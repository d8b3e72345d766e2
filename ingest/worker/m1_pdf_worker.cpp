// m1-pdf-worker: the child process that parses one untrusted PDF. Reads from stdin a 4-byte length,
// the password, then the PDF; writes the Document as JSON to stdout. Usage: m1-pdf-worker --mem-mb N
// [--deadline-ms N] [--keep-headers]. Limits itself (address space, CPU time, no core dumps) first.
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "ingest/pdf_extract.h"

static void limit(int resource, rlim_t value) {
    rlimit r{value, value};
    setrlimit(resource, &r);
}

static bool read_all(int fd, std::string& out) {
    char buf[1 << 16];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n == 0) return true;
        if (n < 0) return false;
        out.append(buf, static_cast<size_t>(n));
    }
}

int main(int argc, char** argv) {
    long mem_mb = 3072, deadline_ms = 0;
    bool keep_headers = false;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--mem-mb") && i + 1 < argc) mem_mb = std::atol(argv[++i]);
        else if (!std::strcmp(argv[i], "--deadline-ms") && i + 1 < argc) deadline_ms = std::atol(argv[++i]);
        else if (!std::strcmp(argv[i], "--keep-headers")) keep_headers = true;
    }
    limit(RLIMIT_CORE, 0);
    if (mem_mb > 0) limit(RLIMIT_AS, static_cast<rlim_t>(mem_mb) << 20);
    if (deadline_ms > 0) limit(RLIMIT_CPU, static_cast<rlim_t>(deadline_ms / 1000 + 2));

    std::string input;
    if (!read_all(0, input) || input.size() < 4) return 3;
    uint32_t pw_len = 0;
    std::memcpy(&pw_len, input.data(), 4);
    if (pw_len > input.size() - 4) return 3;
    m1::ingest::PdfExtractOptions opt;
    opt.password = input.substr(4, pw_len);
    opt.drop_running_headers = !keep_headers;
    opt.deadline_ms = static_cast<int>(deadline_ms);
    input.erase(0, 4 + pw_len);
    std::string out = m1::ingest::document_to_json(m1::ingest::extract_pdf(input, opt));
    input.clear();
    size_t off = 0;
    while (off < out.size()) {
        ssize_t n = write(1, out.data() + off, out.size() - off);
        if (n <= 0) return 4;
        off += static_cast<size_t>(n);
    }
    return 0;
}
