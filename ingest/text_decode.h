// Bytes of unknown encoding (UTF-8, UTF-16 with or without BOM, Latin-1, ...) to UTF-8 NFC.
#pragma once
#include <QByteArray>
#include <QString>

namespace m1::ingest {

struct DecodedText {
    QString text;        // NFC-normalized
    QString encoding;    // "UTF-8", "UTF-16LE", "WINDOWS-1252", ...
    bool lossy = false;  // true when bytes had to be replaced with U+FFFD
};

DecodedText decode_text(const QByteArray& bytes);

}  // namespace m1::ingest
