// The app's style: Fusion with the style sheet from resources/style/studio.qss (compiled in).
#pragma once

class QApplication;

namespace m1::ui {

void applyStudioStyle(QApplication& app);

}  // namespace m1::ui
