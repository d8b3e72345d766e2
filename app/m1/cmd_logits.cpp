// `m1 logits`: runs token ids through the model and writes every position's logits as a float32
// .npy [T, vocab]. Works on a model folder without a tokenizer (the golden tests' entry point).
#include <iostream>

#include "cli.h"
#include "m1/backend.h"
#include "model_args.h"

namespace m1::cli {

static int run_logits(const Args& args) {
    if (!args.has("ids") || !args.has("out")) throw UsageError("logits needs --ids FILE and --out F.npy");
    auto ids = read_ids_file(args.get("ids"));
    const int64_t chunk = args.get_int("chunk", 0);
    if (args.has("chunk") && chunk < 1) throw UsageError("--chunk must be at least 1");
    const std::string device = device_arg(args);
    auto model = load_model_arg(args);
    auto backend = backend_on(model, device);
    auto session = backend->new_session();
    const int64_t T = int64_t(ids.size()), V = model->config().vocab_size;
    std::vector<float> logits(size_t(T * V));
    session->prefill(ids, chunk > 0 ? chunk : T, {}, nullptr, logits.data());
    write_npy(args.get("out"), logits.data(), T, V);
    std::cerr << "m1: wrote " << args.get("out") << " [" << T << ", " << V << "] (" << backend->device() << ")\n";
    return 0;
}

static Registrar reg({"logits",
                      "write the logits of every position of a token sequence as float32 .npy",
                      std::string("--model DIR --ids FILE --out F.npy [--chunk N] ") + kDeviceUsage,
                      with_device_flags({{"model", true, "model folder (config.json + safetensors); default: the demo model"},
                                         {"ids", true, "file of whitespace-separated token ids"},
                                         {"out", true, "output .npy (float32, shape [T, vocab])"},
                                         {"chunk", true, "feed the ids in chunks of N tokens (default: all at once)"}}),
                      0,
                      run_logits,
                      30});

}  // namespace m1::cli
