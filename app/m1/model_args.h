// Shared helpers of the model commands (info, logits, generate, ask): the --model / demo-model rule,
// --device / --gpus (device_args.h), loading with a progress line, reading --ids files and writing .npy.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cli.h"
#include "device_args.h"
#include "m1/backend.h"
#include "m1/model.h"

namespace m1::cli {

// --model DIR, or the embedded demo model (announced on stderr) when the flag is absent.
std::string model_dir_arg(const Args& args, bool* is_demo = nullptr);

// Loads --model (or the demo model), and puts a loaded model's weights on `device` (from device_arg); each
// shows one progress line on stderr (bytes/s, ETA) when it takes a while.
std::shared_ptr<const Model> load_model_arg(const Args& args, bool* is_demo = nullptr);
std::unique_ptr<Backend> backend_on(std::shared_ptr<const Model> model, const std::string& device);

// Whitespace-separated token ids; throws UsageError naming the file and the bad entry.
std::vector<int32_t> read_ids_file(const std::string& path);
// float32 C-order .npy of shape [rows, cols].
void write_npy(const std::string& path, const float* data, int64_t rows, int64_t cols);

}  // namespace m1::cli
