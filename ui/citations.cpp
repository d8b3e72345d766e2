// Citation linking: a line-oriented pass that leaves code alone, then two regexes per text run.
#include "ui/citations.h"

#include <QRegularExpression>
#include <QStringList>

namespace m1::ui {

namespace {

QString link(const QString& shown, const QString& citation) {
    return "[" + shown + "](m1cite:" + QString::fromLatin1(QUrl::toPercentEncoding(citation)) + ")";
}

// One run of text with no code in it.
QString linkifyText(const QString& text) {
    // [page 12], [p. 12], [pages 3-4], [report.pdf, page 12]; not already a link "[..](".
    static const QRegularExpression page(
        R"(\[((?:[^\[\]\n]{1,120}?,\s*)?(?:pages?|p\.|pp\.)\s*\d+(?:\s*[-–]\s*\d+)?)\](?!\())",
        QRegularExpression::CaseInsensitiveOption);
    // path/to/file.ext:40 or file.ext:40-52, not part of a URL or a longer word.
    static const QRegularExpression fileLine(
        R"((?<![\w/.\-:\[])((?:[\w.\-]+/)*[\w\-][\w.\-]*\.[A-Za-z0-9]{1,10}:\d+(?:-\d+)?)(?![\w\]]))");
    QString out;
    qsizetype at = 0;
    auto it = page.globalMatch(text);
    while (it.hasNext()) {
        const auto m = it.next();
        out += text.mid(at, m.capturedStart() - at);
        out += link("[" + m.captured(1) + "]", m.captured(1)).replace("[[", "[\\[").replace("]]", "\\]]");
        at = m.capturedEnd();
    }
    out += text.mid(at);

    QString out2;
    at = 0;
    auto it2 = fileLine.globalMatch(out);
    while (it2.hasNext()) {
        const auto m = it2.next();
        // Skip matches inside a link we just made (its target holds the percent-encoded text).
        const qsizetype open = out.lastIndexOf("](m1cite:", m.capturedStart());
        if (open >= 0 && out.indexOf(')', open) > m.capturedStart()) continue;
        out2 += out.mid(at, m.capturedStart() - at);
        out2 += link(m.captured(1), m.captured(1));
        at = m.capturedEnd();
    }
    out2 += out.mid(at);
    return out2;
}

// Splits a line at inline code spans (`...`) and links only the parts outside them.
QString linkifyLine(const QString& line) {
    QString out;
    qsizetype at = 0;
    while (true) {
        const qsizetype open = line.indexOf('`', at);
        if (open < 0) break;
        const qsizetype close = line.indexOf('`', open + 1);
        if (close < 0) break;
        out += linkifyText(line.mid(at, open - at));
        out += line.mid(open, close - open + 1);
        at = close + 1;
    }
    return out + linkifyText(line.mid(at));
}

}  // namespace

QString linkifyCitations(const QString& markdown) {
    const QStringList lines = markdown.split('\n');
    QStringList out;
    out.reserve(lines.size());
    bool inFence = false;
    for (const QString& line : lines) {
        const QString trimmed = line.trimmed();
        if (trimmed.startsWith("```") || trimmed.startsWith("~~~")) {
            inFence = !inFence;
            out << line;
        } else if (inFence) {
            out << line;  // fenced code: citations there are code (indented lines are usually lists)
        } else {
            out << linkifyLine(line);
        }
    }
    return out.join('\n');
}

QString citationFromUrl(const QUrl& url) {
    if (url.scheme() != "m1cite") return {};
    const QString encoded = url.toString(QUrl::FullyEncoded).mid(int(qstrlen("m1cite:")));
    return QUrl::fromPercentEncoding(encoded.toLatin1());
}

}  // namespace m1::ui
