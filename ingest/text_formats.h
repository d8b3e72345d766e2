// Plain-text formats: kind detection by magic bytes and name, binary detection, cleanup of decoded
// text, and HTML to text. Internal to ingest.
#pragma once
#include <string>
#include <string_view>

#include "ingest/document.h"

namespace m1::ingest {

bool is_pdf_magic(std::string_view head);
bool is_archive_magic(std::string_view head);  // zip, gzip, bzip2, xz, zstd, 7z, tar, rar
// NUL bytes or many control characters in the first 8 KiB (UTF-16 text with a BOM is not binary).
bool looks_binary(std::string_view head);
// Text kind by file name (extension or well-known names); Text when nothing matches.
DocKind text_kind_for_name(const std::string& name);

// '\r\n' and '\r' to '\n', control characters (but tab/newline) dropped, trailing spaces cut.
std::string clean_text(std::string_view utf8);
// Visible text of an HTML page: scripts/styles dropped, blocks become lines, entities decoded.
std::string html_to_text(std::string_view html);
// Decodes bytes of unknown encoding to clean UTF-8 NFC; `encoding` receives the detected name.
std::string bytes_to_text(const std::string& bytes, std::string* encoding = nullptr, bool* lossy = nullptr);
// Any byte string (file names inside archives) as valid UTF-8: kept when valid, else decoded as CP437/Latin-1.
std::string to_valid_utf8(std::string_view bytes);

}  // namespace m1::ingest
