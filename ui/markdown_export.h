// Writes a conversation as a Markdown file: title, corpus, then each question, its reasoning in a
// collapsed <details> block, and the answer as the model wrote it.
#pragma once
#include <QString>
#include <QStringList>
#include <QVector>

#include "ui/backend.h"

namespace m1::ui {

QString conversationToMarkdown(const QString& title, const QStringList& corpus, const QVector<TurnRecord>& turns);
// Writes atomically (QSaveFile); returns an empty string or the error to show.
QString writeMarkdownFile(const QString& path, const QString& markdown);

}  // namespace m1::ui
