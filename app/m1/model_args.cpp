// Helpers shared by the model commands: --model or the demo model, --device/--gpus, loading with
// progress, --ids files, .npy output.
#include "model_args.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "progress_line.h"

namespace m1::cli {

std::string model_dir_arg(const Args& args, bool* is_demo) {
    if (is_demo) *is_demo = !args.has("model");
    if (args.has("model")) return args.get("model");
    std::string dir = demo_model_dir();
    std::cerr << "m1: no --model given: " << demo_model_notice() << " [" << dir << "]\n";
    return dir;
}

std::shared_ptr<const Model> load_model_arg(const Args& args, bool* is_demo) {
    const std::string dir = model_dir_arg(args, is_demo);
    ProgressLine line = ProgressLine::for_stderr();
    LoadOptions opts;
    opts.progress = [&](double f, const std::string& text) { line.update("loading " + dir, f, text); };
    return Model::load(dir, opts);
}

std::unique_ptr<Backend> backend_on(std::shared_ptr<const Model> model, const std::string& device) {
    if (device == "cpu") return make_backend(std::move(model), device);  // reads the mapped weights on first use
    ProgressLine line = ProgressLine::for_stderr();
    LoadOptions opts;
    opts.progress = [&](double f, const std::string& text) { line.update("loading onto " + device, f, text); };
    return make_backend(std::move(model), device, opts);
}

std::vector<int32_t> read_ids_file(const std::string& path) {
    std::ifstream f(path);
    if (!f) throw UsageError("--ids " + path + ": cannot open");
    std::vector<int32_t> ids;
    std::string tok;
    while (f >> tok) {
        size_t used = 0;
        long long v = -1;
        try {
            v = std::stoll(tok, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used != tok.size() || v < 0 || v > INT32_MAX)
            throw UsageError("--ids " + path + ": entry " + std::to_string(ids.size() + 1) + " ('" + tok.substr(0, 40) +
                             "') is not a token id");
        ids.push_back(int32_t(v));
    }
    if (ids.empty()) throw UsageError("--ids " + path + ": no token ids in the file");
    return ids;
}

void write_npy(const std::string& path, const float* data, int64_t rows, int64_t cols) {
    std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(rows) + ", " +
                         std::to_string(cols) + "), }";
    // magic(6) + version(2) + length(2) + header + '\n' padded to a multiple of 64
    size_t total = 10 + header.size() + 1;
    header.append((64 - total % 64) % 64, ' ');
    header.push_back('\n');
    std::ofstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error(path + ": cannot write");
    const char magic[8] = {'\x93', 'N', 'U', 'M', 'P', 'Y', 1, 0};
    f.write(magic, 8);
    uint16_t hl = uint16_t(header.size());
    f.write(reinterpret_cast<const char*>(&hl), 2);
    f.write(header.data(), std::streamsize(header.size()));
    f.write(reinterpret_cast<const char*>(data), std::streamsize(size_t(rows * cols) * sizeof(float)));
    if (!f) throw std::runtime_error(path + ": write failed (disk full?)");
}

}  // namespace m1::cli
