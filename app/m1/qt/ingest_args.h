// Flags shared by `m1 ingest` and `m1 pack` (defined in cmd_ingest.cpp): ingest limits and the tokenizer.
#pragma once
#include <memory>
#include <vector>

#include "ingest/ingest.h"
#include "m1/cli.h"
#include "m1/tokenizer.h"

namespace m1::cli {

std::vector<Flag> ingest_flags();                          // --password, --pdf-timeout, --keep-headers, ...
ingest::IngestOptions ingest_options_from(const Args& args);
// --tokenizer FILE|DIR, else --model DIR's tokenizer; null when neither is given (counts are estimates).
std::unique_ptr<Tokenizer> tokenizer_from(const Args& args);

}  // namespace m1::cli
