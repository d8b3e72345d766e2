// The loading-progress line of the model commands, on stderr: rewritten in place on a terminal (at most
// ten times a second), plain lines at most every 2 s otherwise (logs, pipes). Loads that end within a
// short quiet time (the demo model, small checkpoints) print nothing. Never writes to stdout, so --json
// output stays one clean line.
#pragma once
#include <functional>
#include <ostream>
#include <string>

namespace m1::cli {

class ProgressLine {
public:
    using Clock = std::function<double()>;  // seconds since any fixed point; tests drive it by hand
    // columns: the terminal width (longer lines are cut so that \r can rewrite them); 0 = no limit.
    ProgressLine(std::ostream& os, bool terminal, Clock clock = {}, double quiet_seconds = 0.5, int columns = 0);
    ~ProgressLine() { finish(); }
    ProgressLine(const ProgressLine&) = delete;
    ProgressLine& operator=(const ProgressLine&) = delete;

    // label: what loads ("loading /models/M1"); text: the loader's rate text (bytes/s, ETA).
    void update(const std::string& label, double fraction, const std::string& text);
    // Ends the line with the last report when anything was shown; later updates start a new one.
    void finish();

    // On stderr, a terminal or not as isatty says, with the terminal's width.
    static ProgressLine for_stderr();

private:
    void show(const std::string& line);
    std::ostream& os_;
    bool terminal_;
    Clock clock_;
    double start_, quiet_, last_shown_ = -1e300;
    int columns_;
    bool shown_ = false;
    std::string label_, last_line_, printed_line_;
};

}  // namespace m1::cli
