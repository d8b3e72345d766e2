// Citations in an answer ("[page 12]", "[report.pdf, page 12]", "src/a.cpp:40") become links with
// the m1cite: scheme before the Markdown is rendered; clicking one gives back the citation text.
#pragma once
#include <QString>
#include <QUrl>

namespace m1::ui {

// Rewrites citations outside code spans and fenced blocks as Markdown links; existing links stay.
QString linkifyCitations(const QString& markdown);
// The citation text behind an m1cite: link ("page 12"), or an empty string for other links.
QString citationFromUrl(const QUrl& url);

}  // namespace m1::ui
