// PDF text extraction with Poppler, in the calling process. The app calls it only inside the
// m1-pdf-worker child (see pdf_sandbox.h); fuzzing and benchmarks may call it directly.
#pragma once
#include <string>

#include "ingest/document.h"

namespace m1::ingest {

struct PdfExtractOptions {
    std::string password;
    bool drop_running_headers = true;
    int deadline_ms = 0;  // stop between pages past this (0: no limit); the sandbox also kills the child
};

// `bytes` holds the file. Never throws on bad input: returns a rejected Document with the reason.
Document extract_pdf(const std::string& bytes, const PdfExtractOptions& options);

// The worker's answer on stdout, and its reader (throws std::runtime_error on malformed input).
std::string document_to_json(const Document& doc);
Document document_from_json(const std::string& json);

}  // namespace m1::ingest
