// DOCX and ODT: the main XML part read from the zip in memory, paragraphs to lines.
#pragma once
#include <string>

#include "ingest/document.h"
#include "ingest/ingest.h"

namespace m1::ingest {

Document office_document(const std::string& bytes, DocKind kind, const IngestOptions& options);
// The text of WordprocessingML or ODF XML: paragraphs and headings end lines, tabs and breaks kept.
std::string office_xml_to_text(const std::string& xml);

}  // namespace m1::ingest
