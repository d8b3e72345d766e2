// IngestBackend over m1::ingest: one path becomes one DocumentInfo with exact token counts from the
// active model's tokenizer (or an estimate, labelled so, when no tokenizer can be loaded).
#include <QDir>
#include <QFileInfo>

#include <mutex>

#include "ingest/ingest.h"
#include "m1/model.h"
#include "m1/tokenizer.h"
#include "ui/studio_services.h"

namespace m1::ui {

namespace {

QString q(const std::string& s) { return QString::fromStdString(s); }

class IngestAdapter : public IngestBackend {
public:
    explicit IngestAdapter(QString tokenizerDir) : m_tokenizerDir(std::move(tokenizerDir)) {}

    DocumentInfo ingest(const QString& path, const QString& password, const std::function<void(double)>& progress,
                        const std::atomic<bool>& cancel) override {
        DocumentInfo info;
        info.path = path;
        info.title = QFileInfo(path).fileName();
        progress(0.05);
        ingest::Document doc;
        try {
            ingest::IngestOptions options;
            options.pdf_password = password.toStdString();
            doc = ingest::ingest_path(path.toStdString(), options, &cancel);
        } catch (const std::exception& e) {  // ingest promises not to throw; a bug must not take the app down
            info.status = DocStatus::Rejected;
            info.error = QObject::tr("Could not read %1: %2").arg(info.title, q(e.what()));
            return info;
        }
        progress(0.7);
        info.kind = q(ingest::kind_name(doc.kind));
        if (!doc.title.empty()) info.title = q(doc.title);
        info.pages = doc.page_count;
        info.files = doc.files();
        for (const auto& w : doc.warnings) info.warnings << q(w);
        switch (doc.status) {
        case ingest::DocStatus::Ok: info.status = DocStatus::Ok; break;
        case ingest::DocStatus::Partial: info.status = DocStatus::Partial; break;
        case ingest::DocStatus::Rejected:
            info.status = DocStatus::Rejected;
            info.needsPassword = doc.needs_password;
            if (doc.needs_password)  // ingest's own wording names the CLI flag; here the dialog is the way
                info.error = password.isEmpty()
                                 ? QObject::tr("This PDF is encrypted: enter its password (double-click the document).")
                                 : QObject::tr("The password given does not open this PDF: double-click the document to try another.");
            else
                info.error = doc.warnings.empty() ? QObject::tr("rejected") : q(doc.warnings.front());
            return info;
        }
        const Tokenizer* tok = tokenizer();
        qint64 tokens = 0;
        for (const auto& s : doc.sections) {
            if (cancel.load()) break;
            tokens += tok ? qint64(tok->count(s.text)) : qint64(s.text.size() / 4);
        }
        info.tokens = tokens;
        info.tokensEstimated = tok == nullptr;
        progress(1.0);
        return info;
    }

private:
    const Tokenizer* tokenizer() {
        std::call_once(m_once, [this] {
            try {
                std::string dir = m_tokenizerDir.toStdString();
                if (dir.empty() || !QFileInfo(QDir(m_tokenizerDir).filePath("tokenizer.json")).exists())
                    dir = m1::demo_model_dir();
                m_tok = Tokenizer::load(dir);
            } catch (const std::exception&) {
                m_tok.reset();  // counts become estimates, and the library says so ("≈")
            }
        });
        return m_tok.get();
    }

    QString m_tokenizerDir;
    std::once_flag m_once;
    std::unique_ptr<Tokenizer> m_tok;
};

}  // namespace

std::unique_ptr<IngestBackend> makeIngestBackend(const QString& tokenizerDir) {
    return std::make_unique<IngestAdapter>(tokenizerDir);
}

}  // namespace m1::ui
