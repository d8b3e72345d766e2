// Parses a PDF in the m1-pdf-worker child process under a deadline and an address-space limit, so a
// hostile file can only cost its own document: the child is killed and the batch goes on.
#pragma once
#include <atomic>
#include <string>

#include "ingest/document.h"
#include "ingest/ingest.h"

namespace m1::ingest {

// Where the worker executable is: $M1_PDF_WORKER, beside the running executable,
// <exe>/../libexec/m1-studio/, then the build tree. Empty when none exists.
std::string pdf_worker_path();

// The PDF's bytes go to the child over a pipe. Honours options.pdf_in_process (no child).
Document parse_pdf(const std::string& bytes, const IngestOptions& options, const std::atomic<bool>* cancel);

}  // namespace m1::ingest
