// applyStudioStyle: the resources live in this static library, so it initialises them itself.
#include "ui/style.h"

#include <QApplication>
#include <QFile>
#include <QStyleFactory>

static void initStudioResources() { Q_INIT_RESOURCE(resources); }

namespace m1::ui {

void applyStudioStyle(QApplication& app) {
    initStudioResources();
    if (QStyle* fusion = QStyleFactory::create("Fusion")) app.setStyle(fusion);
    QFile qss(":/style/studio.qss");
    if (qss.open(QIODevice::ReadOnly)) app.setStyleSheet(QString::fromUtf8(qss.readAll()));
}

}  // namespace m1::ui
