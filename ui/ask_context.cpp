// Chat framing of the packed corpus and follow-ups, and ingest documents -> library rows (see ask_context.h).
#include "ui/ask_context.h"

#include <xxhash.h>

#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "m1/chat.h"
#include "storage/prefix_hash.h"

namespace m1::ui::detail {

// A character no template text contains marks where the content goes.
static constexpr const char* kSentinel = "\x01";

ChatFrame userFrame(const std::string& systemPrompt) {
    std::vector<m1::ChatMessage> msgs;
    if (!systemPrompt.empty()) msgs.push_back({"system", systemPrompt, ""});
    msgs.push_back({"user", kSentinel, ""});
    const std::string r = m1::render_m1_chat(msgs, true);
    const size_t at = r.rfind(kSentinel);
    if (at == std::string::npos) throw std::logic_error("chat template lost the user content");
    return {r.substr(0, at), r.substr(at + 1)};
}

std::string followUpText(const std::string& question) {
    const std::vector<m1::ChatMessage> before = {{"user", "x", ""}, {"assistant", "y", ""}};
    std::vector<m1::ChatMessage> after = before;
    after.push_back({"user", question, ""});
    const std::string a = m1::render_m1_chat(before, false), b = m1::render_m1_chat(after, true);
    if (b.compare(0, a.size(), a) != 0) throw std::logic_error("chat template is not prefix-stable");
    return b.substr(a.size());
}

std::string closeTurnText() {
    const std::vector<m1::ChatMessage> open = {{"user", "x", ""}};
    const std::vector<m1::ChatMessage> closed = {{"user", "x", ""}, {"assistant", kSentinel, ""}};
    const std::string gen = m1::render_m1_chat(open, true), full = m1::render_m1_chat(closed, false);
    const size_t at = full.rfind(kSentinel);
    if (full.compare(0, gen.size(), gen) != 0 || at == std::string::npos)
        throw std::logic_error("chat template: assistant turn does not follow the generation prompt");
    return full.substr(at + 1);
}

static std::string text_hash(const std::string& path, const std::vector<const ingest::Section*>& secs) {
    XXH3_state_t* st = XXH3_createState();
    XXH3_128bits_reset(st);
    XXH3_128bits_update(st, path.data(), path.size());
    for (const auto* s : secs) XXH3_128bits_update(st, s->text.data(), s->text.size() + 1);
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits_digest(st));
    XXH3_freeState(st);
    std::string hex;
    static const char* d = "0123456789abcdef";
    for (unsigned char b : c.digest) hex += d[b >> 4], hex += d[b & 15];
    return hex;
}

std::vector<int64_t> storeDocuments(storage::Library& lib, const std::vector<ingest::Document>& docs) {
    std::vector<int64_t> ids;
    for (const auto& doc : docs) {
        if (doc.status == ingest::DocStatus::Rejected) continue;
        // Sections grouped by file, in first-seen order.
        std::vector<std::string> order;
        std::map<std::string, std::vector<const ingest::Section*>> byFile;
        for (const auto& s : doc.sections) {
            if (!byFile.count(s.file)) order.push_back(s.file);
            byFile[s.file].push_back(&s);
        }
        for (const auto& file : order) {
            const auto& secs = byFile[file];
            storage::DocumentRecord r;
            r.sourcePath = file.empty() ? doc.path : doc.path + "/" + file;
            const bool paged = secs.front()->page > 0;
            r.kind = file.empty() ? ingest::kind_name(doc.kind) : paged ? "pdf" : "file";
            r.title = file.empty() ? doc.title : file;
            r.contentHash = text_hash(r.sourcePath, secs);
            r.warningsJson = nlohmann::json(doc.warnings).dump();
            std::vector<storage::PageText> pages;
            int64_t n = 0;
            for (const auto* s : secs) pages.push_back({paged ? s->page : ++n, 1, s->text});
            ids.push_back(lib.addDocument(r, pages));
        }
    }
    return ids;
}

}  // namespace m1::ui::detail
