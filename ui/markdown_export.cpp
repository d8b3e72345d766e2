// Markdown export of a session. Plain text in, plain text out: the answer is already Markdown.
#include "ui/markdown_export.h"

#include <QFileInfo>
#include <QSaveFile>

#include "ui/conversation_model.h"

namespace m1::ui {

QString conversationToMarkdown(const QString& title, const QStringList& corpus, const QVector<TurnRecord>& turns) {
    QString md = "# " + (title.isEmpty() ? QObject::tr("Conversation") : title) + "\n\n";
    if (!corpus.isEmpty()) {
        md += "Corpus:\n\n";
        for (const QString& p : corpus) md += "- " + QFileInfo(p).fileName() + " (`" + p + "`)\n";
        md += "\n";
    }
    for (int i = 0; i < turns.size(); ++i) {
        const TurnRecord& t = turns[i];
        md += QString("## Question %1\n\n").arg(i + 1) + t.question.trimmed() + "\n\n";
        if (!t.reasoning.isEmpty()) {
            md += "<details><summary>" + thinkingSummary(t.thinkingSeconds, t.reasoningTokens) + "</summary>\n\n";
            md += t.reasoning.trimmed() + "\n\n</details>\n\n";
        }
        md += "### Answer\n\n" + t.answer.trimmed() + "\n\n";
        if (t.stopReason == "cancelled") md += QObject::tr("*(stopped by the user)*") + "\n\n";
        else if (t.stopReason == "max_tokens") md += QObject::tr("*(cut at the output token limit)*") + "\n\n";
    }
    return md;
}

QString writeMarkdownFile(const QString& path, const QString& markdown) {
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Text))
        return QObject::tr("Cannot write %1: %2. Choose another folder.").arg(path, f.errorString());
    f.write(markdown.toUtf8());
    if (!f.commit()) return QObject::tr("Writing %1 failed: %2.").arg(path, f.errorString());
    return {};
}

}  // namespace m1::ui
