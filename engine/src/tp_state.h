// Internal: session states of tensor-parallel runs in the one format every backend shares (state_format.h).
// Plain C++ over Session, so CPU-only builds compile it and test it with stand-in rank sessions.
#pragma once
#include <exception>
#include <functional>
#include <vector>

#include "m1/config.h"
#include "m1/session.h"

namespace m1 {

// Runs fn(rank) on every rank's thread at once; returns each rank's exception (null when it succeeded).
using TpRankRunner = std::function<std::vector<std::exception_ptr>(const std::function<void(int)>&)>;

// Rank r's session holds the heads, KV heads and expert slice of tp_shape(global, r, n, tensor). Export
// merges the ranks' own states into one stream; import checks the whole stream before any rank commits,
// and a rank that fails while committing resets every rank to position 0. Both throw the first cause
// (StateFormatError for a foreign, damaged or truncated stream).
void tp_export_state(const ModelConfig& global, const std::vector<const Session*>& ranks, const TpRankRunner& run,
                     ByteSink& sink);
void tp_import_state(const ModelConfig& global, const std::vector<Session*>& ranks, const TpRankRunner& run,
                     ByteSource& source);

}  // namespace m1
