// Poppler-Qt6 glue: metadata, page labels, outline, text boxes per page -> pdf_layout -> page text.
#include "ingest/pdf_extract.h"

#include <poppler-qt6.h>

#include <QByteArray>
#include <QDateTime>
#include <chrono>
#include <memory>

#include "ingest/pdf_layout.h"

namespace m1::ingest {

namespace {

std::string utf8(const QString& s) { return s.normalized(QString::NormalizationForm_C).toStdString(); }

void add_outline(const QVector<Poppler::OutlineItem>& items, int level, Document& doc) {
    for (const auto& it : items) {
        if (doc.outline.size() >= 20000 || level > 32) return;  // hostile outlines: bounded
        OutlineItem o;
        o.title = utf8(it.name().simplified());
        o.level = level;
        if (auto dest = it.destination()) o.page = std::max(0, dest->pageNumber());
        doc.outline.push_back(std::move(o));
        if (it.hasChildren()) add_outline(it.children(), level + 1, doc);
    }
}

std::string page_list(const std::vector<int>& pages) {
    std::string s;
    for (size_t i = 0; i < pages.size() && i < 20; ++i) s += (i ? ", " : "") + std::to_string(pages[i]);
    if (pages.size() > 20) s += ", ... (" + std::to_string(pages.size()) + " pages)";
    return s;
}

}  // namespace

Document extract_pdf(const std::string& bytes, const PdfExtractOptions& opt) {
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    Poppler::setDebugErrorFunction([](const QString&, const QVariant&) {}, QVariant());
    Document doc;
    doc.kind = DocKind::Pdf;
    doc.source_bytes = bytes.size();
    QByteArray data(bytes.data(), static_cast<qsizetype>(bytes.size()));
    QByteArray pw = QByteArray::fromStdString(opt.password);
    std::unique_ptr<Poppler::Document> pdf = Poppler::Document::loadFromData(data, pw, pw);
    if (!pdf) {
        doc.reject("not a readable PDF (damaged or not a PDF)");
        return doc;
    }
    if (pdf->isLocked()) {
        doc.needs_password = true;
        doc.reject(opt.password.empty() ? "encrypted PDF: a password is needed (m1: --password, app: the password dialog)"
                                        : "encrypted PDF: the password given does not open it");
        return doc;
    }
    doc.title = utf8(pdf->info(QStringLiteral("Title")).simplified());
    doc.author = utf8(pdf->info(QStringLiteral("Author")).simplified());
    QDateTime created = pdf->creationDate();
    if (created.isValid()) doc.date = created.toUTC().toString(Qt::ISODate).toStdString();
    add_outline(pdf->outline(), 0, doc);

    const int n = pdf->numPages();
    doc.page_count = n;
    std::vector<PdfPageLayout> layouts;
    std::vector<std::string> labels;
    std::vector<int> failed;
    for (int i = 0; i < n; ++i) {
        if (opt.deadline_ms > 0 &&
            clock::now() - start > std::chrono::milliseconds(opt.deadline_ms)) {
            doc.warn("time budget of " + std::to_string(opt.deadline_ms / 1000) + " s ran out after page " +
                     std::to_string(i) + " of " + std::to_string(n));
            break;
        }
        std::unique_ptr<Poppler::Page> page(pdf->page(i));
        if (!page) {
            failed.push_back(i + 1);
            layouts.push_back({});
            labels.push_back({});
            continue;
        }
        QSizeF size = page->pageSizeF();
        std::vector<PdfWord> words;
        for (const auto& box : page->textList()) {
            QRectF r = box->boundingBox();
            words.push_back({r.left(), r.top(), r.right(), r.bottom(), utf8(box->text()), box->hasSpaceAfter()});
        }
        layouts.push_back(layout_page(std::move(words), size.width(), size.height()));
        QString label = page->label();
        labels.push_back(label == QString::number(i + 1) ? std::string() : utf8(label));
    }
    if (opt.drop_running_headers) {
        auto dropped = drop_running_headers(layouts);
        // Informational, not a loss of content: kept out of the warnings that lower the status.
        for (auto& d : dropped) doc.warnings.push_back("running header/footer dropped: " + d);
    }
    std::vector<int> empty;
    for (size_t i = 0; i < layouts.size(); ++i) {
        Section s;
        s.page = static_cast<int>(i) + 1;
        s.page_label = labels[i];
        s.text = page_text(layouts[i]);
        s.no_text = s.text.empty();
        if (s.no_text) empty.push_back(s.page);
        doc.sections.push_back(std::move(s));
    }
    if (!failed.empty()) doc.warn("pages that could not be read: " + page_list(failed));
    if (!empty.empty()) {
        if (empty.size() == layouts.size() && !layouts.empty())
            doc.reject("no text (scanned): none of the " + std::to_string(n) +
                       " pages has a text layer; OCR is not enabled");
        else
            doc.warn("no text (scanned) on pages " + page_list(empty));
    }
    if (n == 0) doc.reject("the PDF has no pages");
    return doc;
}

}  // namespace m1::ingest
