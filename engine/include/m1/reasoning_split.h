// Splits the model's streamed reply into reasoning (inside <think>...</think>) and answer while it is
// generated. Tags may arrive split across tokens; text is held back only while it could still be part
// of a tag (or whitespace next to one). A reply that does not open with <think> (after optional
// whitespace) is all answer; a never-closed <think> is all reasoning. Whitespace just inside the tags
// and just after </think> is dropped ("<think>\nr\n</think>\nA" gives reasoning "r", answer "A").
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
    // End of the stream: flushes any held-back text (use a new splitter for the next reply).
    Piece finish();
    bool in_reasoning() const { return state_ == State::Reasoning; }
    // True once a <think> block was seen (open or closed).
    bool saw_reasoning() const { return saw_open_; }

private:
    enum class State { Start, Reasoning, Answer };
    void emit(Piece& out, std::string_view text) const;
    void process(Piece& out);
    State state_ = State::Start;
    bool saw_open_ = false;
    bool strip_ws_ = false;  // drop whitespace at the start of reasoning / of the answer after </think>
    std::string pending_;    // text not attributed yet (possible tag start, whitespace before </think>)
};

}  // namespace m1
