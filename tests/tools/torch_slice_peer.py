#!/usr/bin/env python3
"""The peer of tests/bench/e2e_slice_bench: transformers (5.17) running the same M1-width slice (hidden 6144,
64 heads, 32 experts of 9216, vocab 200064, N lightning + 1 softmax layers, random bf16 weights made on the
GPU) with its default backends (SDPA, grouped_mm experts); prefill tokens/s per context and decode tokens/s
after it. Prints one line per context and writes JSON (--json)."""
import argparse
import json
import time

import torch
import transformers
from transformers import MiniMaxConfig, MiniMaxForCausalLM


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lightning", type=int, default=3)
    ap.add_argument("--contexts", default="8192,32768,131072")
    ap.add_argument("--decode-steps", type=int, default=8)
    ap.add_argument("--json", default="")
    a = ap.parse_args()
    layer_types = ["linear_attention"] * a.lightning + ["full_attention"]
    cfg = MiniMaxConfig(hidden_size=6144, intermediate_size=9216, num_hidden_layers=len(layer_types),
                        num_attention_heads=64, num_key_value_heads=8, head_dim=128, num_local_experts=32,
                        num_experts_per_tok=2, vocab_size=200064, layer_types=layer_types,
                        max_position_embeddings=10240000, block_size=256, tie_word_embeddings=False,
                        rope_parameters={"rope_theta": 1e7, "rope_type": "default"})
    torch.manual_seed(0)
    t0 = time.time()
    with torch.device("cuda"):
        torch.set_default_dtype(torch.bfloat16)
        model = MiniMaxForCausalLM(cfg).eval()
    torch.set_default_dtype(torch.float32)
    nparam = sum(p.numel() for p in model.parameters())
    print(f"transformers {transformers.__version__} torch {torch.__version__} {torch.cuda.get_device_name()}: "
          f"{nparam/1e9:.1f} B params, built in {time.time()-t0:.1f} s; attn {model.config._attn_implementation}",
          flush=True)
    rows = []
    g = torch.Generator(device="cuda").manual_seed(7)
    for ctx in [int(x) for x in a.contexts.split(",")]:
        ids = torch.randint(0, 200000, (1, ctx), device="cuda", generator=g)
        with torch.no_grad():
            model(input_ids=ids[:, :min(ctx, 2048)], use_cache=True, logits_to_keep=1)  # warm-up
            torch.cuda.synchronize()
            t = time.time()
            out = model(input_ids=ids, use_cache=True, logits_to_keep=1)
            torch.cuda.synchronize()
            pf = time.time() - t
            pkv = out.past_key_values
            tok = out.logits[:, -1:].argmax(-1)
            times = []
            for i in range(a.decode_steps + 1):
                pos = torch.tensor([[ctx + i]], device="cuda")
                torch.cuda.synchronize()
                t = time.time()
                out = model(input_ids=tok, past_key_values=pkv, position_ids=pos, use_cache=True)
                torch.cuda.synchronize()
                times.append(time.time() - t)
                pkv = out.past_key_values
                tok = out.logits[:, -1:].argmax(-1)
            dt = sorted(times[1:])[len(times[1:]) // 2]
        rows.append({"context": ctx, "prefill_s": pf, "prefill_tok_s": ctx / pf, "decode_ms": dt * 1e3,
                     "decode_tok_s": 1 / dt})
        print(f"ctx {ctx:7d}  prefill {pf:8.3f} s  {ctx/pf:9.0f} tok/s   decode {dt*1e3:7.2f} ms/token  "
              f"{1/dt:7.1f} tok/s", flush=True)
        del out, pkv
        torch.cuda.empty_cache()
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"gpu": torch.cuda.get_device_name(), "transformers": transformers.__version__,
                       "torch": torch.__version__, "params": nparam, "rows": rows}, f)


if __name__ == "__main__":
    main()
