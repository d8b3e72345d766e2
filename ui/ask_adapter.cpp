// AskBackend over the ask pipeline (ui/ask_pipeline.h: ingest → pack → restore or prefill →
// generate → store), and makeStudioServices, which wires everything m1-studio needs.
#include <QDir>
#include <QFileInfo>

#include <random>

#include "m1/backend.h"
#include "m1/model.h"
#include "m1/tokenizer.h"
#include "ui/model_check.h"
#include "ui/studio_services.h"

#include "ui/ask_pipeline.h"

namespace m1::ui {

namespace {

QString q(const std::string& s) { return QString::fromStdString(s); }

class PipelineAsk : public AskBackend {
public:
    ModelInfo load(const ModelChoice& choice, const LoadProgressFn& progress, const std::atomic<bool>& cancel) override {
        ModelInfo info;
        m_pipeline.reset();
        LoadOptions opts;
        if (progress) opts.progress = [&progress](double f, const std::string& text) { progress(f, q(text)); };
        opts.cancel = &cancel;
        try {
            const bool demo = choice.folder.isEmpty();
            const std::string dir = demo ? m1::demo_model_dir() : choice.folder.toStdString();
            // The CUDA backend reads its expert precision from M1_CUDA_EXPERTS when it loads.
            if (choice.device.startsWith("cuda"))
                qputenv("M1_CUDA_EXPERTS", choice.precision == "int8-experts" ? "int8" : "bf16");
            auto model = m1::Model::load(dir, opts);
            std::shared_ptr<const Tokenizer> tok = Tokenizer::load(dir);
            m_pipeline = std::make_unique<AskPipeline>(make_backend(model, choice.device.toStdString(), opts), tok);
            info.name = demo ? QObject::tr("demo model") : QFileInfo(choice.folder).fileName();
            info.demo = demo;
            info.precision = choice.device.startsWith("cuda") ? choice.precision : QString("fp32");
            info.devices = devices(QString::fromStdString(m_pipeline->backend().device()));
        } catch (const LoadCancelled&) {
            info.cancelled = true;
            info.error = QObject::tr("Loading the model was cancelled.");
        } catch (const std::exception& e) {
            info.error = QObject::tr("Loading the model failed: %1.").arg(q(e.what()));
        }
        return info;
    }

    AskResult ask(const AskRequest& r, AskEvents& ev, const std::atomic<bool>& cancel) override {
        return run(r, ev, cancel);
    }
    // Restore only: the session's latest snapshot goes into the engine and nothing is prefilled, so the
    // next question prefills just itself. Without a usable snapshot the next question prefills it all.
    AskResult resume(const AskRequest& r, AskEvents& ev, const std::atomic<bool>& cancel) override {
        AskResult res;
        res.sessionId = r.sessionId;
        if (!m_pipeline) {
            res.stopReason = "error";
            res.error = QObject::tr("No model is loaded: choose a model folder in File › Settings….");
            return res;
        }
        AskCallbacks cb;
        cb.stage = [&ev](const std::string& s) { ev.stage(q(s)); };
        cb.notice = [&res](const std::string& s) { res.notices << q(s); };
        cb.restored = [&ev](int64_t n, double s) { ev.restored(n, s); };
        try {
            const ResumeOutcome out = m_pipeline->resume(r.database.toStdString(), r.sessionId, cb, &cancel);
            res.restoredTokens = out.restoredTokens;
            res.restoreSeconds = out.restoreSeconds;
            res.prefilledTokens = 0;
            res.stopReason = cancel.load() && out.restoredTokens == 0 ? "cancelled"
                             : out.restoredTokens > 0               ? "end"
                                                                    : "no_snapshot";
        } catch (const std::exception& e) {
            res.stopReason = "error";
            res.error = q(e.what());
            if (!res.error.endsWith('.')) res.error += '.';
        }
        return res;
    }

private:
    // "cuda:0,1" -> those GPUs with their memory use (nvidia-smi); "cpu" -> the CPU.
    static QVector<DeviceInfo> devices(const QString& device) {
        if (!device.startsWith("cuda")) return {DeviceInfo{"CPU", 0, 0}};
        const QVector<DeviceInfo> all = detectGpus();
        QVector<DeviceInfo> out;
        for (const QString& id : device.mid(device.indexOf(':') + 1).split(',', Qt::SkipEmptyParts)) {
            const int i = id.toInt();
            if (i >= 0 && i < all.size()) out << all[i];
            else out << DeviceInfo{"cuda:" + id, 0, 0};
        }
        return out;
    }

    AskResult run(const AskRequest& r, AskEvents& ev, const std::atomic<bool>& cancel) {
        AskResult res;
        if (!m_pipeline) {
            res.stopReason = "error";
            res.error = QObject::tr("No model is loaded: choose a model folder in File › Settings….");
            return res;
        }
        AskOptions o;
        for (const auto& p : r.documents) o.paths.push_back(p.toStdString());
        for (auto it = r.passwords.cbegin(); it != r.passwords.cend(); ++it)
            o.pdfPasswords[it.key().toStdString()] = it.value().toStdString();
        o.question = r.question.toStdString();
        o.sessionId = r.sessionId;
        o.database = r.database.toStdString();
        o.maxTokens = r.sampling.maxTokens;
        o.budgetTokens = r.budget;
        o.systemPrompt = r.systemPrompt.toStdString();
        o.sampling.temperature = r.sampling.temperature;
        o.sampling.top_p = r.sampling.topP;
        o.sampling.top_k = r.sampling.topK;
        o.sampling.seed = r.sampling.seed < 0 ? uint64_t(std::random_device{}()) : uint64_t(r.sampling.seed);
        o.sampling.greedy = r.sampling.temperature <= 0;
        o.policy = ingest::parse_policy(r.policy.toStdString()).value_or(ingest::OverflowPolicy::Drop);
        AskCallbacks cb;
        cb.stage = [&ev](const std::string& s) { ev.stage(q(s)); };
        cb.notice = [&res](const std::string& s) { res.notices << q(s); };
        cb.restored = [&ev](int64_t n, double s) { ev.restored(n, s); };
        cb.prefill = [&ev](int64_t done, int64_t total) { ev.prefill(done, total); };
        cb.reasoning = [&ev](const std::string& s) { ev.reasoning(q(s)); };
        cb.answer = [&ev](const std::string& s) { ev.answer(q(s)); };
        try {
            const AskOutcome out = m_pipeline->ask(o, cb, &cancel);
            res.sessionId = out.sessionId;
            res.prefilledTokens = out.prefilledTokens;
            res.restoredTokens = out.restoredTokens;
            res.reasoningTokens = out.reasoningTokens;
            res.answerTokens = out.answerTokens;
            res.restoreSeconds = out.restoreSeconds;
            res.prefillSeconds = out.prefillSeconds;
            res.firstTokenSeconds = out.firstTokenSeconds;
            res.decodeSeconds = out.decodeSeconds;
            res.stopReason = q(out.stopReason);
        } catch (const std::exception& e) {
            res.stopReason = "error";
            res.error = q(e.what());
            if (!res.error.endsWith('.')) res.error += '.';
        }
        return res;
    }

    std::unique_ptr<AskPipeline> m_pipeline;
};

}  // namespace

std::unique_ptr<AskBackend> makeAskBackend() { return std::make_unique<PipelineAsk>(); }

Services makeStudioServices(const QString& modelFolder) {
    Services s;
    s.ask = makeAskBackend();
    s.ingest = makeIngestBackend(modelFolder);
    s.openStore = [](const QString& db) { return openSessionStore(db); };
    return s;
}

}  // namespace m1::ui
