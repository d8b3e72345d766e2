// The streaming <think> splitter: tags split across tokens at every position, never closed, absent.
#include <gtest/gtest.h>

#include "m1/reasoning_split.h"

namespace {

using Piece = m1::ReasoningSplitter::Piece;

// Feeds `text` in pieces of `step` bytes and collects everything.
Piece run(const std::string& text, size_t step) {
    m1::ReasoningSplitter s;
    Piece all;
    for (size_t i = 0; i < text.size(); i += step) {
        Piece p = s.feed(std::string_view(text).substr(i, step));
        all.reasoning += p.reasoning;
        all.answer += p.answer;
    }
    Piece p = s.finish();
    all.reasoning += p.reasoning;
    all.answer += p.answer;
    return all;
}

void expect_split(const std::string& text, const std::string& reasoning, const std::string& answer) {
    for (size_t step = 1; step <= text.size() + 1; ++step) {
        SCOPED_TRACE("step " + std::to_string(step));
        const Piece p = run(text, step);
        EXPECT_EQ(p.reasoning, reasoning);
        EXPECT_EQ(p.answer, answer);
    }
}

TEST(ReasoningSplit, ThinkThenAnswer) {
    expect_split("<think>\nLet me think.\nTwo lines.\n</think>\nThe answer is 4.", "Let me think.\nTwo lines.",
                 "The answer is 4.");
}

TEST(ReasoningSplit, NoTagIsAllAnswer) {
    expect_split("Just an answer with <b>html</b> and a late <think>tag</think>.", "",
                 "Just an answer with <b>html</b> and a late <think>tag</think>.");
    expect_split("<thin>not a tag", "", "<thin>not a tag");
    expect_split("<", "", "<");
}

TEST(ReasoningSplit, NeverClosedIsAllReasoning) {
    expect_split("<think>\nstill thinking </thi", "still thinking </thi", "");
    expect_split("<think>", "", "");
}

TEST(ReasoningSplit, LeadingWhitespaceAndPartialCloseInsideReasoning) {
    expect_split("\n <think>a </b> < /think> </thinking? no</think>\n\nans", "a </b> < /think> </thinking? no", "ans");
}

TEST(ReasoningSplit, StreamsWithoutWaitingForTheEnd) {
    m1::ReasoningSplitter s;
    EXPECT_EQ(s.feed("<thi").reasoning, "");
    EXPECT_FALSE(s.in_reasoning());
    Piece p = s.feed("nk>\nStep one");
    EXPECT_TRUE(s.in_reasoning());
    EXPECT_TRUE(s.saw_reasoning());
    EXPECT_EQ(p.reasoning, "Step one");
    p = s.feed(".\n</");
    EXPECT_EQ(p.reasoning, ".");
    p = s.feed("think>\nDone");
    EXPECT_FALSE(s.in_reasoning());
    EXPECT_EQ(p.answer, "Done");
    EXPECT_EQ(s.feed(" now").answer, " now");
}

}  // namespace
