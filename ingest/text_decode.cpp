// Encoding detection: BOMs first, then strict UTF-8, then uchardet's guess, then Latin-1.
#include "ingest/text_decode.h"

#include <uchardet.h>

#include <QStringDecoder>

namespace m1::ingest {

static bool is_valid_utf8(const QByteArray& b) {
    QStringDecoder dec(QStringDecoder::Utf8, QStringDecoder::Flag::Stateless);
    QString s = dec.decode(b);
    return !dec.hasError();
}

static QString detect_with_uchardet(const QByteArray& b) {
    uchardet_t ud = uchardet_new();
    QString name;
    if (uchardet_handle_data(ud, b.constData(), static_cast<size_t>(std::min<qsizetype>(b.size(), 1 << 20))) == 0) {
        uchardet_data_end(ud);
        name = QString::fromLatin1(uchardet_get_charset(ud));
    }
    uchardet_delete(ud);
    return name;
}

DecodedText decode_text(const QByteArray& bytes) {
    DecodedText out;
    QByteArray body = bytes;
    std::optional<QStringConverter::Encoding> enc;
    if (bytes.startsWith("\xEF\xBB\xBF")) {
        enc = QStringConverter::Utf8, out.encoding = "UTF-8";
        body = bytes.mid(3);
    } else if (bytes.startsWith("\xFF\xFE")) {
        enc = QStringConverter::Utf16LE, out.encoding = "UTF-16LE";
        body = bytes.mid(2);
    } else if (bytes.startsWith("\xFE\xFF")) {
        enc = QStringConverter::Utf16BE, out.encoding = "UTF-16BE";
        body = bytes.mid(2);
    } else if (is_valid_utf8(bytes)) {
        enc = QStringConverter::Utf8, out.encoding = "UTF-8";
    }
    if (enc) {
        QStringDecoder dec(*enc);
        out.text = dec.decode(body);
        out.lossy = dec.hasError();
    } else {
        QString guess = detect_with_uchardet(bytes);
        QStringDecoder dec(guess.toLatin1().constData());
        if (!guess.isEmpty() && dec.isValid()) {
            out.text = dec.decode(bytes);
            out.encoding = guess;
            out.lossy = dec.hasError();
        } else {
            out.text = QString::fromLatin1(bytes);
            out.encoding = "ISO-8859-1";
        }
    }
    out.text = out.text.normalized(QString::NormalizationForm_C);
    return out;
}

}  // namespace m1::ingest
