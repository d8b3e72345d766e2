// m1-studio: the desktop app. Parses the command line and wires the services into the main window.
//   m1-studio [FILES...] [--db FILE] [--model DIR] [--ask QUESTION] [--max-tokens N] [--screenshot FILE.png]
// --screenshot waits for the model (and the question, if any), saves the window as PNG and quits:
// the CI takes its artifact this way under Xvfb.
#include <QApplication>
#include <QCommandLineParser>
#include <QIcon>
#include <QTimer>

#include <cstdio>

#include "ui/conversation_model.h"
#include "ui/engine_worker.h"
#include "ui/ingest_queue.h"
#include "ui/library_model.h"
#include "ui/main_window.h"
#include "ui/studio_services.h"
#include "ui/style.h"

using namespace m1::ui;

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setApplicationName("m1-studio");
    QApplication::setOrganizationName("M1 Studio");
    QApplication::setApplicationVersion(M1_STUDIO_VERSION);
    QApplication::setWindowIcon(QIcon(":/icons/m1-studio.svg"));
    QApplication::setDesktopFileName("m1-studio");

    QCommandLineParser cli;
    cli.setApplicationDescription("Read whole corpora with MiniMax-M1.");
    cli.addHelpOption();
    cli.addVersionOption();
    cli.addPositionalArgument("files", "PDFs, archives or folders to add to the library.", "[FILES...]");
    QCommandLineOption db("db", "Library database file (default: the user's data directory).", "FILE");
    QCommandLineOption model("model", "Model folder for this run (default: the one in Settings).", "DIR");
    QCommandLineOption ask("ask", "Ask this question once the model and the files are ready.", "QUESTION");
    QCommandLineOption shot("screenshot", "Save the window as PNG once ready (and answered), then quit.", "FILE");
    QCommandLineOption maxTokens("max-tokens", "Output token limit for this run (default: the one in Settings).", "N");
    cli.addOptions({db, model, ask, shot, maxTokens});
    cli.process(app);

    applyStudioStyle(app);
    StudioSettings settings = StudioSettings::load();
    if (cli.isSet(db)) settings.databasePath = cli.value(db);
    if (cli.isSet(model)) settings.model.folder = cli.value(model);
    if (cli.isSet(maxTokens))
        settings.sampling.maxTokens = std::clamp(cli.value(maxTokens).toInt(), 1, StudioSettings::kMaxOutputTokens);

    MainWindow window(makeStudioServices(settings.model.folder), settings);
    window.show();
    if (!cli.positionalArguments().isEmpty()) window.ingest()->add(cli.positionalArguments());

    // --ask and --screenshot: act once the model is loaded and the library is read.
    const QString question = cli.value(ask);
    const QString screenshot = cli.value(shot);
    auto save = [&window, screenshot] {
        const bool ok = window.grab().save(screenshot, "PNG");
        std::fprintf(ok ? stdout : stderr, ok ? "screenshot: %s\n" : "screenshot: cannot write %s\n", qPrintable(screenshot));
        QApplication::exit(ok ? 0 : 1);
    };
    auto whenReady = [&window, question, screenshot, save] {
        if (!question.isEmpty()) {
            window.ask(question);
            if (!screenshot.isEmpty())
                QObject::connect(window.engine()->worker(), &EngineWorker::askFinished, &window,
                                 [save] { QTimer::singleShot(300, save); });
        } else if (!screenshot.isEmpty()) {
            QTimer::singleShot(300, save);
        }
    };
    if (!question.isEmpty() || !screenshot.isEmpty()) {
        auto pending = std::make_shared<int>(window.library()->ingesting() ? 2 : 1);
        auto step = [pending, whenReady] {
            if (--*pending == 0) whenReady();
        };
        // The window relays the engine's report on the GUI thread, so connecting here cannot miss it.
        QObject::connect(&window, &MainWindow::modelReady, &window, step, Qt::SingleShotConnection);
        if (*pending == 2) QObject::connect(window.ingest(), &IngestQueue::allIngested, &window, step, Qt::SingleShotConnection);
        if (!screenshot.isEmpty())  // never hang a CI job: give up after two minutes
            QTimer::singleShot(120000, &window, [] {
                std::fprintf(stderr, "screenshot: timed out waiting for the app\n");
                QApplication::exit(2);
            });
    }
    return app.exec();
}
