// PCRE2 wrapper: compile once with JIT, match with per-thread match data and a JIT stack large enough
// for long runs of one character class.
#include "tokenizer_regex.h"

#include <pcre2.h>

#include "m1/tokenizer.h"

namespace m1::tok {

struct Regex::Code {
    pcre2_code* code = nullptr;
    bool jit = false;
};

namespace {

// Oniguruma accepts \uXXXX; PCRE2 wants \x{XXXX}.
std::string translate_onig(const std::string& p) {
    std::string out;
    out.reserve(p.size());
    for (size_t i = 0; i < p.size(); ++i) {
        if (p[i] == '\\' && i + 1 < p.size()) {
            if (p[i + 1] == 'u' && i + 5 < p.size()) {
                out += "\\x{" + p.substr(i + 2, 4) + "}";
                i += 5;
                continue;
            }
            out += p[i];
            out += p[++i];
            continue;
        }
        out += p[i];
    }
    return out;
}

// Per-thread match data and JIT stack, shared by all patterns (match data is sized for the largest).
struct ThreadState {
    pcre2_match_data* md = nullptr;
    pcre2_match_context* mc = nullptr;
    pcre2_jit_stack* stack = nullptr;
    ThreadState() {
        md = pcre2_match_data_create(32, nullptr);
        mc = pcre2_match_context_create(nullptr);
        stack = pcre2_jit_stack_create(64 * 1024, 16 * 1024 * 1024, nullptr);
        pcre2_jit_stack_assign(mc, nullptr, stack);
    }
    ~ThreadState() {
        pcre2_match_data_free(md);
        pcre2_match_context_free(mc);
        pcre2_jit_stack_free(stack);
    }
};

ThreadState& thread_state() {
    thread_local ThreadState ts;
    return ts;
}

[[noreturn]] void match_error(const std::string& pattern, int rc) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(rc, msg, sizeof msg);
    throw TokenizerError("pre-tokenizer regex /" + pattern + "/ failed: " + reinterpret_cast<char*>(msg));
}

}  // namespace

Regex::Regex(const std::string& pattern) : pattern_(pattern), code_(std::make_unique<Code>()) {
    const std::string p = translate_onig(pattern);
    int err = 0;
    PCRE2_SIZE off = 0;
    code_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(p.data()), p.size(), PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK,
                                &err, &off, nullptr);
    if (!code_->code) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        throw TokenizerError("regex /" + pattern + "/ does not compile at offset " + std::to_string(off) + ": " +
                             reinterpret_cast<char*>(msg));
    }
    code_->jit = pcre2_jit_compile(code_->code, PCRE2_JIT_COMPLETE) == 0;
}

Regex::~Regex() {
    if (code_ && code_->code) pcre2_code_free(code_->code);
}

void Regex::find_all(std::string_view s, std::vector<std::pair<size_t, size_t>>& out) const {
    ThreadState& ts = thread_state();
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(s.data());
    size_t pos = 0;
    while (pos < s.size()) {
        const int rc = code_->jit ? pcre2_jit_match(code_->code, subject, s.size(), pos, 0, ts.md, ts.mc)
                                  : pcre2_match(code_->code, subject, s.size(), pos, PCRE2_NO_UTF_CHECK, ts.md, ts.mc);
        if (rc == PCRE2_ERROR_NOMATCH) return;
        if (rc < 0) match_error(pattern_, rc);
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(ts.md);
        const size_t b = ov[0], e = ov[1];
        if (e > b) {
            out.emplace_back(b, e);
            pos = e;
        } else {
            // Empty match: step over one whole UTF-8 character.
            pos = b + 1;
            while (pos < s.size() && (static_cast<unsigned char>(s[pos]) & 0xC0) == 0x80) ++pos;
        }
    }
}

bool Regex::matches_at_start(std::string_view s) const {
    ThreadState& ts = thread_state();
    const int rc = pcre2_match(code_->code, reinterpret_cast<PCRE2_SPTR>(s.data()), s.size(), 0,
                               PCRE2_ANCHORED | PCRE2_NO_UTF_CHECK, ts.md, ts.mc);
    if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) match_error(pattern_, rc);
    return rc >= 0;
}

std::string regex_escape(std::string_view literal) {
    std::string out;
    for (char c : literal) {
        if (std::string_view("\\^$.|?*+()[]{}-/#").find(c) != std::string_view::npos) out += '\\';
        out += c;
    }
    return out;
}

}  // namespace m1::tok
