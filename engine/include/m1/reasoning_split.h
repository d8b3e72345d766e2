// Splits the model's streamed reply into reasoning (inside <think>...</think>) and answer while it is
// generated. Tags may arrive split across tokens; text is held back only while it could still be the
// start of a tag. A reply without <think> is all answer; a never-closed <think> is all reasoning.
#pragma once
#include <string>
#include <string_view>

namespace m1 {

class ReasoningSplitter {
public:
    struct Piece {
        std::string reasoning, answer;
    };
    // Feed decoded text as it arrives; returns what can be attributed now.
    Piece feed(std::string_view text);
    // End of the stream: flushes any held-back text.
    Piece finish();
    bool in_reasoning() const { return state_ == State::Reasoning; }
    // True once a <think> block was seen (open or closed).
    bool saw_reasoning() const { return saw_open_; }

private:
    enum class State { Start, Reasoning, Answer };
    void emit(Piece& out, std::string_view text) const;
    State state_ = State::Start;
    bool saw_open_ = false;
    bool strip_newline_ = false;  // drop the single "\n" that follows <think> / </think>
    std::string pending_;         // text that may be the beginning of a tag
};

}  // namespace m1
