// Runs m1-pdf-worker with pipes, a poll loop, a deadline and cancellation; kills it when needed.
#include "ingest/pdf_sandbox.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>

#include "ingest/pdf_extract.h"

extern char** environ;

namespace m1::ingest {

namespace fs = std::filesystem;

std::string pdf_worker_path() {
    if (const char* env = std::getenv("M1_PDF_WORKER"); env && *env) return fs::exists(env) ? env : "";
    std::error_code ec;
    fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        for (fs::path cand : {exe.parent_path() / "m1-pdf-worker",
                              exe.parent_path().parent_path() / "libexec/m1-studio/m1-pdf-worker"})
            if (fs::exists(cand, ec)) return cand.string();
    }
#ifdef M1_PDF_WORKER_BUILD_PATH
    if (fs::exists(M1_PDF_WORKER_BUILD_PATH, ec)) return M1_PDF_WORKER_BUILD_PATH;
#endif
    return {};
}

namespace {

struct ChildResult {
    std::string out, err_tail;
    int status = 0;
    bool timed_out = false, cancelled = false, spawned = false;
};

ChildResult run_child(const std::string& exe, const std::vector<std::string>& args, const std::string& input,
                      int timeout_ms, const std::atomic<bool>* cancel) {
    ChildResult r;
    int in[2], out[2], err[2];
    // stdin is a socket so that writing to a child that died early gives EPIPE, not SIGPIPE.
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) return r;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    std::vector<char*> argv{const_cast<char*>(exe.c_str())};
    for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = -1;
    int rc = posix_spawn(&pid, exe.c_str(), &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]), close(out[1]), close(err[1]);
    if (rc != 0) {
        close(in[1]), close(out[0]), close(err[0]);
        return r;
    }
    r.spawned = true;
    size_t written = 0;
    int in_fd = in[1];
    if (input.empty()) close(in_fd), in_fd = -1;
    bool out_open = true, err_open = true;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    char buf[1 << 16];
    while (out_open || err_open) {
        if (cancel && cancel->load()) { r.cancelled = true; break; }
        if (std::chrono::steady_clock::now() > deadline) { r.timed_out = true; break; }
        pollfd fds[3];
        int nf = 0;
        if (out_open) fds[nf++] = {out[0], POLLIN, 0};
        if (err_open) fds[nf++] = {err[0], POLLIN, 0};
        if (in_fd >= 0) fds[nf++] = {in_fd, POLLOUT, 0};
        if (poll(fds, static_cast<nfds_t>(nf), 50) < 0 && errno != EINTR) break;
        for (int i = 0; i < nf; ++i) {
            if (!fds[i].revents) continue;
            if (fds[i].fd == in_fd) {
                ssize_t n = send(in_fd, input.data() + written, std::min<size_t>(input.size() - written, 1 << 20),
                                 MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n > 0) written += static_cast<size_t>(n);
                if (n < 0 && errno != EAGAIN) written = input.size();  // child closed stdin (EPIPE)
                if (written >= input.size()) close(in_fd), in_fd = -1;
                continue;
            }
            ssize_t n = read(fds[i].fd, buf, sizeof buf);
            if (n <= 0) {
                (fds[i].fd == out[0] ? out_open : err_open) = false;
                continue;
            }
            if (fds[i].fd == out[0]) r.out.append(buf, static_cast<size_t>(n));
            else r.err_tail = (r.err_tail + std::string(buf, static_cast<size_t>(n))).substr(0, 2000);
        }
    }
    if (in_fd >= 0) close(in_fd);
    close(out[0]), close(err[0]);
    if (r.timed_out || r.cancelled) kill(pid, SIGKILL);
    while (waitpid(pid, &r.status, 0) < 0 && errno == EINTR) {
    }
    return r;
}

}  // namespace

Document parse_pdf(const std::string& bytes, const IngestOptions& options, const std::atomic<bool>* cancel) {
    PdfExtractOptions eo;
    eo.password = options.pdf_password;
    eo.drop_running_headers = options.drop_running_headers;
    // The worker stops itself a little before the hard deadline so slow files still give their first pages.
    eo.deadline_ms = options.pdf_timeout_ms * 4 / 5;
    if (options.pdf_in_process) return extract_pdf(bytes, eo);

    Document doc;
    doc.kind = DocKind::Pdf;
    doc.source_bytes = bytes.size();
    std::string exe = pdf_worker_path();
    if (exe.empty()) {
        doc.reject("the PDF helper m1-pdf-worker was not found (reinstall, or set M1_PDF_WORKER to its path)");
        return doc;
    }
    std::string input(4, '\0');
    uint32_t len = static_cast<uint32_t>(eo.password.size());
    std::memcpy(input.data(), &len, 4);
    input += eo.password;
    input += bytes;
    std::vector<std::string> args{"--mem-mb", std::to_string(options.pdf_memory_mb), "--deadline-ms",
                                  std::to_string(eo.deadline_ms)};
    if (!options.drop_running_headers) args.push_back("--keep-headers");
    ChildResult r = run_child(exe, args, input, options.pdf_timeout_ms, cancel);
    std::string budget = " (limits: " + std::to_string(options.pdf_timeout_ms / 1000) + " s, " +
                         std::to_string(options.pdf_memory_mb) + " MB)";
    if (!r.spawned) doc.reject("could not start the PDF helper " + exe);
    else if (r.cancelled) doc.reject("cancelled");
    else if (r.timed_out) doc.reject("PDF parsing took too long and was stopped" + budget);
    else if (WIFSIGNALED(r.status))
        doc.reject("the PDF parser crashed or ran out of memory on this file (signal " +
                   std::to_string(WTERMSIG(r.status)) + ")" + budget);
    else if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0)
        doc.reject("the PDF parser failed (exit code " + std::to_string(WEXITSTATUS(r.status)) + ")");
    else {
        try {
            doc = document_from_json(r.out);
        } catch (const std::exception& e) {
            doc.reject(std::string("the PDF parser returned malformed output: ") + e.what());
        }
    }
    return doc;
}

}  // namespace m1::ingest
