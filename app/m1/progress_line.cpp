// ProgressLine: see progress_line.h.
#include "progress_line.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>

namespace m1::cli {

static double steady_seconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

ProgressLine::ProgressLine(std::ostream& os, bool terminal, Clock clock, double quiet_seconds, int columns)
    : os_(os), terminal_(terminal), clock_(clock ? std::move(clock) : Clock(steady_seconds)), start_(clock_()),
      quiet_(quiet_seconds), columns_(columns) {}

ProgressLine ProgressLine::for_stderr() {
    const bool tty = isatty(STDERR_FILENO) == 1;
    winsize ws{};
    const int cols = tty && ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 ? int(ws.ws_col) : 0;
    return ProgressLine(std::cerr, tty, {}, 0.5, cols);
}

void ProgressLine::update(const std::string& label, double fraction, const std::string& text) {
    char pct[16];
    std::snprintf(pct, sizeof pct, "%3.0f%%", 100.0 * std::min(1.0, std::max(0.0, fraction)));
    if (label != label_) {  // a new phase (the checkpoint, then the GPU): the last one's line stays
        finish();
        label_ = label;
    }
    last_line_ = "m1: " + label + " " + pct + (text.empty() ? "" : "  " + text);
    const double now = clock_();
    if (now - start_ < quiet_) return;  // quick loads stay silent
    if (now - last_shown_ < (terminal_ ? 0.1 : 2.0)) return;
    last_shown_ = now;
    show(last_line_);
}

void ProgressLine::show(const std::string& line) {
    std::string l = line;
    if (terminal_) {
        if (columns_ > 1 && int(l.size()) >= columns_) l.resize(size_t(columns_ - 1));
        os_ << '\r' << l << "\033[K" << std::flush;  // rewrite in place, clearing what the last one left
    } else {
        os_ << l << '\n' << std::flush;
    }
    printed_line_ = line;
    shown_ = true;
}

void ProgressLine::finish() {
    if (!shown_) return;
    if (last_line_ != printed_line_) show(last_line_);
    if (terminal_) os_ << '\n' << std::flush;
    shown_ = false;
    last_shown_ = -1e300;
}

}  // namespace m1::cli
