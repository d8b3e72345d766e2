// The MiniMax-M1 chat template in C++. Mirrors the Jinja template of the checkpoint's
// tokenizer_config.json line by line; tests compare it byte for byte with jinja2's rendering.
#include "m1/chat.h"

#include "m1/tokenizer.h"

namespace m1 {
namespace {

constexpr const char* kBos = "<beginning_of_sentence>";
constexpr const char* kEos = "<end_of_sentence>\n";

// The tool instructions, as the template renders them (its ''name'' is Jinja string concatenation,
// so the names come out without quotes).
constexpr const char* kToolsIntro = "You are provided with these tools:\n<tools>\n";
constexpr const char* kToolsOutro =
    "</tools>\n\nIf you need to call tools, please respond with <tool_calls></tool_calls> XML tags, and provide "
    "tool-name and json-object of arguments, following the format below:\n<tool_calls>\n"
    "{name: <tool-name-1>, arguments: <args-json-object-1>}\n...\n</tool_calls>";

}  // namespace

std::string render_m1_chat(const std::vector<ChatMessage>& messages, const std::vector<std::string>& tools_json,
                           bool add_generation_prompt) {
    std::string out = "<begin_of_document>";
    // All system messages form one system turn, concatenated without separator.
    std::string system;
    for (const auto& m : messages)
        if (m.role == "system") system += m.content;
    if (!system.empty()) out += std::string(kBos) + "system ai_setting=assistant\n" + system + kEos;
    if (!tools_json.empty()) {
        out += std::string(kBos) + "system tool_setting=tools\n" + kToolsIntro;
        for (const auto& t : tools_json) out += t + "\n";
        out += std::string(kToolsOutro) + kEos;
    }
    for (const auto& m : messages) {
        if (m.role == "user") {
            out += std::string(kBos) + "user name=user\n" + m.content + kEos;
        } else if (m.role == "assistant") {
            out += std::string(kBos) + "ai name=assistant\n" + m.content + kEos;
        } else if (m.role == "tool") {
            out += std::string(kBos) + "tool name=tools\n" + "tool name: " + m.name + "\ntool result: " + m.content + "\n\n" + kEos;
        }
        // Other roles (and "system", handled above) render nothing, as in the template.
    }
    if (add_generation_prompt) out += std::string(kBos) + "ai name=assistant\n";
    return out;
}

std::string render_m1_chat(const std::vector<ChatMessage>& messages, bool add_generation_prompt) {
    return render_m1_chat(messages, {}, add_generation_prompt);
}

M1SpecialTokens M1SpecialTokens::from(const Tokenizer& tokenizer) {
    auto need = [&](const char* s) {
        auto id = tokenizer.token_id(s);
        if (!id) throw TokenizerError(std::string("the tokenizer has no ") + s + " token: it is not an M1 tokenizer");
        return *id;
    };
    return {need("<begin_of_document>"), need("<beginning_of_sentence>"), need("<end_of_sentence>"),
            need("<end_of_document>")};
}

}  // namespace m1
