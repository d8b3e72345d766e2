// Prints per-city temperature statistics from a CSV file (city,day,celsius with a header line).
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>

#include "stats.h"

int main(int argc, char** argv) {
    std::ifstream in(argc > 1 ? argv[1] : "data/temperatures.csv");
    if (!in) {
        std::cerr << "cannot open the CSV file\n";
        return 1;
    }
    std::map<std::string, Stats> by_city;
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
        std::stringstream row(line);
        std::string city, day, celsius;
        if (std::getline(row, city, ',') && std::getline(row, day, ',') && std::getline(row, celsius))
            by_city[city].add(std::stod(celsius));
    }
    for (const auto& [city, s] : by_city)
        std::cout << city << ": mean " << s.mean() << ", min " << s.min << ", max " << s.max << "\n";
    return 0;
}
