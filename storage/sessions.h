// Sessions (questions asked of one corpus with one model) and their turns.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "storage/database.h"

namespace m1::storage {

struct SessionRecord {
    int64_t id = 0;
    std::optional<int64_t> corpusId;
    std::string modelFingerprint;
    std::string samplingJson = "{}";
    std::string title;
    int64_t created = 0, updated = 0;  // Unix ms
    int64_t turnCount = 0;             // filled by get() and list()
};

struct TurnRecord {
    int64_t id = 0, sessionId = 0, position = 0;  // position: 0 for the first question
    std::string question, reasoning, answer;
    std::vector<int32_t> contextIds;  // token ids this turn appended to the engine context
    int64_t promptTokens = 0, prefilledTokens = 0, restoredTokens = 0, generatedTokens = 0;
    std::string timingsJson = "{}";
    std::string stopReason;
    int64_t created = 0;
};

class Sessions {
public:
    explicit Sessions(Database& db) : m_db(db) {}

    int64_t create(const SessionRecord& s);
    std::optional<SessionRecord> get(int64_t id) const;
    std::vector<SessionRecord> list() const;  // most recently updated first
    void setTitle(int64_t id, const std::string& title);
    void remove(int64_t id);  // with its turns

    // Appends a turn at the next position and marks the session updated; returns the turn id.
    int64_t addTurn(const TurnRecord& t);
    // Turns in order; context ids only when asked (they can be megabytes for a long corpus).
    std::vector<TurnRecord> turns(int64_t sessionId, bool withContextIds = false) const;

private:
    Database& m_db;
};

}  // namespace m1::storage
