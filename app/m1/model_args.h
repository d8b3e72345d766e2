// Shared helpers of the model commands (info, logits, generate, bench): the --model / demo-model rule,
// reading --ids files and writing .npy arrays.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cli.h"
#include "m1/model.h"

namespace m1::cli {

// --model DIR, or the embedded demo model (announced on stderr) when the flag is absent.
std::string model_dir_arg(const Args& args, bool* is_demo = nullptr);
// Loads the model, with a progress line on stderr for big checkpoints.
std::shared_ptr<const Model> load_model_arg(const Args& args, bool* is_demo = nullptr);
// Whitespace-separated token ids; throws UsageError naming the file and the bad entry.
std::vector<int32_t> read_ids_file(const std::string& path);
// float32 C-order .npy of shape [rows, cols].
void write_npy(const std::string& path, const float* data, int64_t rows, int64_t cols);

}  // namespace m1::cli
