#!/usr/bin/env python3
"""Makes the embedded demo model (resources/demo/config.json + model.safetensors): a tiny MiniMax-M1
with random weights (fixed seed, pure Python, byte-for-byte reproducible). Its answers are meaningless;
it exists so that every feature runs on a fresh machine with no download.

usage: make_demo_model.py [OUT_DIR]   (default: resources/demo next to this repository's tests/)
"""
import json
import math
import os
import struct
import sys

CONFIG = {
    "architectures": ["MiniMaxM1ForCausalLM"],
    "model_type": "minimax_m1",
    "hidden_size": 128,
    "num_hidden_layers": 8,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "head_dim": 32,
    "rotary_dim": 16,                      # half the head, like M1 (64 of 128)
    "intermediate_size": 192,
    "num_local_experts": 4,
    "num_experts_per_tok": 2,
    "shared_intermediate_size": 0,
    "vocab_size": 1024,
    "hidden_act": "silu",
    "rms_norm_eps": 1e-05,
    "rope_theta": 10000000,
    "max_position_embeddings": 1048576,
    "attn_type_list": [0, 0, 0, 0, 0, 0, 0, 1],
    "postnorm": True,
    "layernorm_full_attention_alpha": (2 * 8) ** 0.25,
    "layernorm_full_attention_beta": 1.0,
    "layernorm_linear_attention_alpha": (2 * 8) ** 0.25,
    "layernorm_linear_attention_beta": 1.0,
    "layernorm_mlp_alpha": (2 * 8) ** 0.25,
    "layernorm_mlp_beta": 1.0,
    "block_size": 64,                      # small, so that prompts span several lightning blocks
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
    "m1_studio_note": "demo model: tiny, random weights, made by tests/tools/make_demo_model.py; answers are meaningless",
}
SEED = 20250616


class Rng:
    """splitmix64: tiny, portable, and the same on every Python."""

    def __init__(self, seed):
        self.s = seed & 0xFFFFFFFFFFFFFFFF

    def next(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        return z ^ (z >> 31)

    def uniform(self):  # [-1, 1)
        return (self.next() >> 11) * (2.0 / (1 << 53)) - 1.0


def bf16_bytes(values):
    out = bytearray()
    for v in values:
        u = struct.unpack("<I", struct.pack("<f", v))[0]
        u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16  # round to nearest even
        out += struct.pack("<H", u & 0xFFFF)
    return bytes(out)


def tensors(cfg):
    H, nh, dh, nkv = cfg["hidden_size"], cfg["num_attention_heads"], cfg["head_dim"], cfg["num_key_value_heads"]
    I, E, V = cfg["intermediate_size"], cfg["num_local_experts"], cfg["vocab_size"]
    W = nh * dh
    t = [("model.embed_tokens.weight", [V, H], "BF16", 1.0), ("lm_head.weight", [V, H], "BF16", 1 / math.sqrt(H)),
         ("model.norm.weight", [H], "BF16", None)]
    for l, kind in enumerate(cfg["attn_type_list"]):
        p = f"model.layers.{l}."
        t += [(p + "input_layernorm.weight", [H], "BF16", None), (p + "post_attention_layernorm.weight", [H], "BF16", None)]
        if kind == 0:
            t += [(p + "self_attn.qkv_proj.weight", [3 * W, H], "BF16", 1 / math.sqrt(H)),
                  (p + "self_attn.output_gate.weight", [W, H], "BF16", 1 / math.sqrt(H)),
                  (p + "self_attn.out_proj.weight", [H, W], "BF16", 1 / math.sqrt(W)),
                  (p + "self_attn.norm.weight", [W], "BF16", None)]
        else:
            t += [(p + "self_attn.q_proj.weight", [W, H], "BF16", 1 / math.sqrt(H)),
                  (p + "self_attn.k_proj.weight", [nkv * dh, H], "BF16", 1 / math.sqrt(H)),
                  (p + "self_attn.v_proj.weight", [nkv * dh, H], "BF16", 1 / math.sqrt(H)),
                  (p + "self_attn.o_proj.weight", [H, W], "BF16", 1 / math.sqrt(W))]
        t.append((p + "block_sparse_moe.gate.weight", [E, H], "F32", 1 / math.sqrt(H)))  # fp32, as in M1
        for e in range(E):
            q = f"{p}block_sparse_moe.experts.{e}."
            t += [(q + "w1.weight", [I, H], "BF16", 1 / math.sqrt(H)), (q + "w3.weight", [I, H], "BF16", 1 / math.sqrt(H)),
                  (q + "w2.weight", [H, I], "BF16", 1 / math.sqrt(I))]
    return t


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..", "resources", "demo")
    os.makedirs(out, exist_ok=True)
    rng = Rng(SEED)
    header, blobs, off = {"__metadata__": {"format": "pt", "made_by": "m1-studio make_demo_model.py"}}, [], 0
    for name, shape, dtype, scale in tensors(CONFIG):
        n = math.prod(shape)
        # Norm weights near 1; everything else uniform with a 1/sqrt(fan_in)-like scale (sqrt(3) keeps unit variance).
        vals = [1.0 + 0.1 * rng.uniform() for _ in range(n)] if scale is None else \
               [scale * math.sqrt(3) * rng.uniform() for _ in range(n)]
        data = bf16_bytes(vals) if dtype == "BF16" else struct.pack(f"<{n}f", *vals)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    hj = json.dumps(header, separators=(",", ":")).encode()
    hj += b" " * ((8 - len(hj) % 8) % 8)  # keep the data 8-byte aligned
    with open(os.path.join(out, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(hj)) + hj)
        for b in blobs:
            f.write(b)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=2)
        f.write("\n")
    print(f"wrote {out}/config.json and model.safetensors ({off / 1e6:.1f} MB of weights)")


if __name__ == "__main__":
    main()
