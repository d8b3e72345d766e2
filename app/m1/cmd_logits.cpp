// `m1 logits`: runs token ids through the model and writes every position's logits as a float32
// .npy [T, vocab]. Works on a model folder without a tokenizer (the golden tests' entry point).
#include <iostream>

#include "cli.h"
#include "m1/backend.h"
#include "m1/memory_plan.h"
#include "model_args.h"

namespace m1::cli {

static int run_logits(const Args& args) {
    if (!args.has("ids") || !args.has("out")) throw UsageError("logits needs --ids FILE and --out F.npy");
    auto ids = read_ids_file(args.get("ids"));
    const int64_t chunk = args.get_int("chunk", 0);
    if (args.has("chunk") && chunk < 1) throw UsageError("--chunk must be at least 1");
    auto model = load_model_arg(args);
    auto backend = make_backend(model, resolve_device(args.get("device", "cpu"), int(args.get_int("gpus", 0))));
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
                      "--model DIR --ids FILE --out F.npy [--chunk N] [--device cpu|cuda|cuda:N|cuda:0,1] [--gpus N]",
                      {{"model", true, "model folder (config.json + safetensors); default: the demo model"},
                       {"ids", true, "file of whitespace-separated token ids"},
                       {"out", true, "output .npy (float32, shape [T, vocab])"},
                       {"chunk", true, "feed the ids in chunks of N tokens (default: all at once)"},
                       {"device", true, "cpu (default), cuda, cuda:N, cuda:0,1"},
                       {"gpus", true, "tensor parallel over the first N GPUs (of --device's list): 1, 2, 4 or 8"}},
                      0,
                      run_logits,
                      30});

}  // namespace m1::cli
