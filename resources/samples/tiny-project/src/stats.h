// Running statistics of one series: count, mean, minimum and maximum.
#pragma once
#include <algorithm>
#include <limits>

struct Stats {
    int count = 0;
    double sum = 0;
    double min = std::numeric_limits<double>::infinity();
    double max = -std::numeric_limits<double>::infinity();

    void add(double x) {
        ++count;
        sum += x;
        min = std::min(min, x);
        max = std::max(max, x);
    }
    double mean() const { return count ? sum / count : 0.0; }
};
