// The MiniMax-M1 chat format: renders messages exactly as the checkpoint's Jinja chat template
// (tokenizer_config.json `chat_template`, M1_MODEL.md §8.2), and the special-token ids that go with it,
// read from the tokenizer rather than hard-coded.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace m1 {

class Tokenizer;

struct ChatMessage {
    std::string role;     // system | user | assistant | tool
    std::string content;  // the text; for assistant turns it may hold "<think>\n...\n</think>\n" + answer
    std::string name;     // tool turns: the tool's name ("tool name: <name>"); ignored for other roles
};

// Renders the conversation. add_generation_prompt appends "<beginning_of_sentence>ai name=assistant\n".
std::string render_m1_chat(const std::vector<ChatMessage>& messages, bool add_generation_prompt);
// Same, with a tool list: each entry is one tool's JSON text (as the template's `tool | tojson`,
// e.g. {"name": "get_weather", "parameters": {"type": "object"}}), rendered in the tools system turn.
std::string render_m1_chat(const std::vector<ChatMessage>& messages, const std::vector<std::string>& tools_json,
                           bool add_generation_prompt);

// Special-token ids of the M1 format, looked up in a tokenizer; throws TokenizerError if one is missing.
struct M1SpecialTokens {
    int32_t begin_of_document;     // <begin_of_document>
    int32_t beginning_of_sentence; // <beginning_of_sentence> (opens every turn)
    int32_t end_of_sentence;       // <end_of_sentence> (closes a turn; generation stops on it)
    int32_t end_of_document;       // <end_of_document>
    static M1SpecialTokens from(const Tokenizer& tokenizer);
};

}  // namespace m1
