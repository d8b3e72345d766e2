// Measures how long the GUI thread goes without running its event loop (a 10 ms timer that notes the
// longest gap between its ticks): the window must never freeze while the engine works.
#pragma once
#include <QElapsedTimer>
#include <QTimer>

#include <algorithm>

namespace m1::test {

struct GapMeter {
    QTimer timer;
    QElapsedTimer clock;
    qint64 last = 0, longest = 0;
    void start() {
        timer.disconnect();
        clock.start();
        last = 0;
        longest = 0;
        timer.setInterval(10);
        QObject::connect(&timer, &QTimer::timeout, [this] {
            const qint64 now = clock.elapsed();
            longest = std::max(longest, now - last);
            last = now;
        });
        timer.start();
    }
    void stop() {
        timer.stop();
        timer.disconnect();
    }
};

}  // namespace m1::test
