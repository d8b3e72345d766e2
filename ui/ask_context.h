// Builds the exact token context of a question (internal to the ask pipeline): a new session renders the
// packed corpus in the M1 chat format with the corpus tokens as a reusable prefix; a follow-up extends
// the session's stored context with the next user turn.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ingest/document.h"
#include "m1/tokenizer.h"
#include "storage/library.h"

namespace m1::ui::detail {

struct PromptContext {
    std::vector<int32_t> ids;     // everything the engine must have consumed before generating
    int64_t corpusEnd = 0;        // ids[0:corpusEnd] is the question-independent corpus prefix (0: none)
    int64_t turnStart = 0;        // ids[turnStart:] is what this turn appends to the stored context
};

// Text the chat template puts before and after a lone user message (with the optional system turn).
struct ChatFrame {
    std::string before, after;
};
ChatFrame userFrame(const std::string& systemPrompt);
// The text that follows a finished assistant turn to open the next user turn and the generation prompt.
std::string followUpText(const std::string& question);
// Text that closes an assistant turn after its content ("<end_of_sentence>\n").
std::string closeTurnText();

// Storage documents for ingest's documents: one per file (a PDF's pages as pages), so search hits and
// citations name the file. Returns the stored ids in corpus order.
std::vector<int64_t> storeDocuments(storage::Library& lib, const std::vector<ingest::Document>& docs);

}  // namespace m1::ui::detail
