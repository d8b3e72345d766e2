#!/usr/bin/env python3
"""Makes the golden test data of the CPU engine: tiny random MiniMax models run through transformers'
own MiniMax implementation in float64 (eager attention, eager experts) on bf16-rounded weights.

Runs where torch and transformers 5.17 are installed (the GPU host; the CPU is enough):
    python3 make_golden.py OUT_DIR
For every fixture OUT_DIR/<name>/ gets config.json, model.safetensors (original tensor names; bf16
weights, fp32 router gates as M1 ships them), ids.txt (prompt), logits.npy (float32 [T, vocab] reference
logits), greedy.txt (greedy continuation) and meta.json (what was checked).

Choices (see docs: M1_MODEL.md):
* Decay tables: transformers' buffers are overwritten with float64 values of the trained model's formula
  s_h = 2^(-8(h+1)/nh) * (1 - l/(L-1) + 1e-5); the checkpoint carries none, except fixture
  `partial_rope`, which keeps transformers' (bf16-free, float64) tables to check that the engine ignores them.
* transformers rotates the whole head; fixture `partial_rope` patches its rotary code to rotate only the
  first rotary_dim dims (NeoX half split inside that slice), as the original model does.
* Seeds are searched so that no router top-k choice and no greedy step is a near tie.
* A float64 numpy re-implementation reads the saved files back and must agree with transformers: it proves
  the files hold exactly the weights transformers ran.
"""
import json
import math
import os
import re
import sys

import numpy as np
import torch
import transformers
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM, MiniMaxConfig
from transformers.models.minimax import modeling_minimax as mm

FIXTURES = [
    # HF layout, GQA 2, top-2, block 16 (T=70 is not a multiple), alpha/beta != 1, full RoPE.
    dict(name="hf_gqa2_top2", layout="hf", H=64, nh=4, dh=24, nkv=2, I=48, E=4, top_k=2, V=300,
         kinds=[0, 0, 1, 0], block=16, theta=10000.0, rotary=None, T=70, greedy=16,
         ab=dict(lin=(1.3, 0.9), full=(1.1, 1.2), mlp=(1.5, 0.7)), seed=11),
    # Original layout, MQA (6 query heads on 1 KV head), top-1, 2 softmax layers, block 24, T=61.
    dict(name="orig_mqa_top1", layout="orig", H=48, nh=6, dh=12, nkv=1, I=40, E=3, top_k=1, V=200,
         kinds=[0, 1, 0, 0, 1], block=24, theta=1e6, rotary=None, T=61, greedy=16,
         ab=dict(lin=(2.0, 1.0), full=(2.0, 1.0), mlp=(2.0, 1.0)), seed=21),
    # HF layout with rotary_dim = head_dim / 2 (patched rotary), GQA 4, top-2 of 5, fp32 storage, block 32.
    dict(name="partial_rope", layout="hf", H=40, nh=8, dh=16, nkv=2, I=32, E=5, top_k=2, V=260,
         kinds=[0, 1, 0, 1], block=32, theta=1e4, rotary=8, T=90, greedy=16,
         ab=dict(lin=(1.2, 1.1), full=(0.8, 1.3), mlp=(1.4, 0.6)), seed=31, fp32_storage=True, keep_buffers=True),
]
ROUTER_RE = re.compile(r"\.(mlp|block_sparse_moe)\.gate\.weight$")
BUFFERS = ("slope_rate", "query_decay", "key_decay", "diagonal_decay")


def hf_config(f):
    a = f["ab"]
    kw = dict(vocab_size=f["V"], hidden_size=f["H"], intermediate_size=f["I"], num_hidden_layers=len(f["kinds"]),
              num_attention_heads=f["nh"], num_key_value_heads=f["nkv"], head_dim=f["dh"], hidden_act="silu",
              max_position_embeddings=4096, rms_norm_eps=1e-5, num_local_experts=f["E"],
              num_experts_per_tok=f["top_k"], layer_types=["linear_attention" if k == 0 else "full_attention" for k in f["kinds"]],
              block_size=f["block"], full_attn_alpha_factor=a["full"][0], full_attn_beta_factor=a["full"][1],
              linear_attn_alpha_factor=a["lin"][0], linear_attn_beta_factor=a["lin"][1],
              mlp_alpha_factor=a["mlp"][0], mlp_beta_factor=a["mlp"][1], tie_word_embeddings=False,
              sliding_window=None, use_cache=False, output_router_logits=False)
    try:
        cfg = MiniMaxConfig(rope_parameters={"rope_type": "default", "rope_theta": f["theta"]}, **kw)
    except TypeError:
        cfg = MiniMaxConfig(rope_theta=f["theta"], **kw)
    return cfg


def original_config(f):
    a = f["ab"]
    return {"architectures": ["MiniMaxM1ForCausalLM"], "model_type": "minimax_m1", "vocab_size": f["V"],
            "hidden_size": f["H"], "intermediate_size": f["I"], "num_hidden_layers": len(f["kinds"]),
            "num_attention_heads": f["nh"], "num_key_value_heads": f["nkv"], "head_dim": f["dh"],
            "rotary_dim": f["rotary"] or f["dh"], "hidden_act": "silu", "max_position_embeddings": 4096,
            "rms_norm_eps": 1e-5, "rope_theta": f["theta"], "num_local_experts": f["E"],
            "num_experts_per_tok": f["top_k"], "shared_intermediate_size": 0, "attn_type_list": f["kinds"],
            "postnorm": True, "block_size": f["block"],
            "layernorm_full_attention_alpha": a["full"][0], "layernorm_full_attention_beta": a["full"][1],
            "layernorm_linear_attention_alpha": a["lin"][0], "layernorm_linear_attention_beta": a["lin"][1],
            "layernorm_mlp_alpha": a["mlp"][0], "layernorm_mlp_beta": a["mlp"][1], "tie_word_embeddings": False}


def make_model(cfg):
    model = AutoModelForCausalLM.from_config(cfg, attn_implementation="eager")
    if hasattr(model, "set_experts_implementation"):
        model.set_experts_implementation("eager")  # the reference; grouped_mm is the default on GPUs
    return model


def slopes(nh, layer, L):
    factor = 1.0 - layer / (L - 1) + 1e-5 if L > 1 else 1.0 + 1e-5
    return np.array([2.0 ** (-8.0 * (h + 1) / nh) * factor for h in range(nh)])


def set_decay_tables(model, f):
    L = len(f["kinds"])
    n = 0
    for mod in model.modules():
        if all(hasattr(mod, b) for b in BUFFERS):
            s = torch.tensor(slopes(f["nh"], mod.layer_idx, L), dtype=torch.float64)[:, None, None]
            B = f["block"]
            j = torch.arange(1, B + 1, dtype=torch.float64)
            mod.slope_rate = s
            mod.query_decay = torch.exp(-s * j[:, None])
            mod.key_decay = torch.exp(-s * (B - j[:, None]))
            d = (j[:, None] - j[None, :])[None, None]
            mod.diagonal_decay = torch.exp(torch.where(s[None] * d >= 0, -s[None] * d, torch.tensor(float("-inf"), dtype=torch.float64)))
            n += 1
    assert n == f["kinds"].count(0), f"found {n} lightning modules"


def randomize(model, f, gen):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                v = 1.0 + 0.2 * torch.randn(p.shape, generator=gen, dtype=torch.float64)
            elif "embed_tokens" in name:
                v = torch.randn(p.shape, generator=gen, dtype=torch.float64)
            else:
                v = torch.randn(p.shape, generator=gen, dtype=torch.float64) / math.sqrt(p.shape[-1])
            # Weights as a checkpoint holds them: bf16, the router gate fp32.
            v = v.float() if ROUTER_RE.search(name) else v.to(torch.bfloat16)
            p.copy_(v.to(torch.float64))


def patch_partial_rotary(model, rotary_dim, theta):
    """transformers ignores rotary_dim; rotate only the first rotary_dim dims (NeoX split inside)."""
    inv = 1.0 / (theta ** (torch.arange(0, rotary_dim, 2, dtype=torch.float64) / rotary_dim))

    def rotary_forward(x, position_ids):
        ang = position_ids[..., None].to(torch.float64) * inv
        emb = torch.cat([ang, ang], dim=-1)
        return emb.cos(), emb.sin()

    def apply(q, k, cos, sin, *args, **kwargs):
        cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
        r = cos.shape[-1]

        def rot(x):
            xr, xp = x[..., :r], x[..., r:]
            x1, x2 = xr[..., : r // 2], xr[..., r // 2:]
            return torch.cat([xr * cos + torch.cat([-x2, x1], dim=-1) * sin, xp], dim=-1)

        return rot(q), rot(k)

    model.model.rotary_emb.forward = rotary_forward
    old = mm.apply_rotary_pos_emb
    mm.apply_rotary_pos_emb = apply
    return lambda: setattr(mm, "apply_rotary_pos_emb", old)


def router_margin(model, run):
    """Smallest gap between the k-th and (k+1)-th router probability over all tokens and layers."""
    gaps, hooks = [], []
    for name, mod in model.named_modules():
        if re.search(r"layers\.\d+\.(mlp|block_sparse_moe)\.gate$", name):
            def hook(m, args):
                x = args[0].reshape(-1, args[0].shape[-1]).to(torch.float64)
                p = torch.softmax(x @ m.weight.to(torch.float64).T, dim=-1)
                k = model.config.num_experts_per_tok
                srt = torch.sort(p, dim=-1, descending=True).values
                if srt.shape[-1] > k:
                    gaps.append(float((srt[:, k - 1] - srt[:, k]).min()))
            hooks.append(mod.register_forward_pre_hook(hook))
    assert hooks, "no router modules found"
    out = run()
    for h in hooks:
        h.remove()
    return (min(gaps) if gaps else 1.0), out


def forward(model, ids):
    with torch.no_grad():
        t = torch.tensor([ids])
        return model(input_ids=t, position_ids=torch.arange(len(ids))[None], use_cache=False).logits[0].to(torch.float64)


def checkpoint_tensors(model, f):
    """The model's weights under the original checkpoint names (w1/w3/w2 per expert)."""
    H, I, E = f["H"], f["I"], f["E"]
    out = {}
    for name, t in model.state_dict().items():
        t = t.detach().cpu()
        if name.split(".")[-1] in BUFFERS or name.endswith("inv_freq"):
            if f.get("keep_buffers") and name.split(".")[-1] in BUFFERS:
                out[name] = t.float().contiguous()
            continue
        m = re.match(r"model\.layers\.(\d+)\.mlp\.experts\.(gate_up_proj|down_proj)$", name)
        if m:
            l, kind = m.group(1), m.group(2)
            for e in range(E):
                w = t[e]
                p = f"model.layers.{l}.block_sparse_moe.experts.{e}."
                if kind == "gate_up_proj":
                    if w.shape == (H, 2 * I):
                        w = w.T
                    assert w.shape == (2 * I, H), w.shape
                    out[p + "w1.weight"], out[p + "w3.weight"] = w[:I].contiguous(), w[I:].contiguous()
                else:
                    if w.shape == (I, H):
                        w = w.T
                    assert w.shape == (H, I), w.shape
                    out[p + "w2.weight"] = w.contiguous()
            continue
        name = re.sub(r"\.mlp\.gate\.weight$", ".block_sparse_moe.gate.weight", name)
        out[name] = t
    for k in list(out):
        if k.split(".")[-1] in BUFFERS:
            continue
        if ROUTER_RE.search(k):
            out[k] = out[k].float().contiguous()
        else:
            out[k] = (out[k].float() if f.get("fp32_storage") else out[k].to(torch.bfloat16)).contiguous()
    return out


def expected_names(f):
    n = {"model.embed_tokens.weight", "lm_head.weight", "model.norm.weight"}
    for l, k in enumerate(f["kinds"]):
        p = f"model.layers.{l}."
        n |= {p + "input_layernorm.weight", p + "post_attention_layernorm.weight", p + "block_sparse_moe.gate.weight"}
        n |= {p + s for s in (["self_attn.qkv_proj.weight", "self_attn.output_gate.weight", "self_attn.out_proj.weight",
                                "self_attn.norm.weight"] if k == 0 else
                               ["self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight",
                                "self_attn.o_proj.weight"])}
        for e in range(f["E"]):
            n |= {f"{p}block_sparse_moe.experts.{e}.{w}.weight" for w in ("w1", "w2", "w3")}
    return n


def numpy_forward(f, W, ids):
    """The trained model's math in float64 numpy, from the saved tensors (an independent check)."""
    g = lambda k: W[k].astype(np.float64)
    H, nh, dh, nkv, E, K = f["H"], f["nh"], f["dh"], f["nkv"], f["E"], f["top_k"]
    rd = f["rotary"] or dh
    T, L = len(ids), len(f["kinds"])
    rms = lambda x, w, eps: w * x / np.sqrt((x * x).mean(-1, keepdims=True) + eps)
    silu = lambda x: x / (1 + np.exp(-x))
    x = g("model.embed_tokens.weight")[ids]
    for l, kind in enumerate(f["kinds"]):
        p = f"model.layers.{l}."
        u = rms(x, g(p + "input_layernorm.weight"), 1e-5)
        if kind == 0:
            qkv = silu(u @ g(p + "self_attn.qkv_proj.weight").T).reshape(T, nh, 3, dh)
            q, k, v = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]
            lam = np.exp(-slopes(nh, l, L))
            S = np.zeros((nh, dh, dh))
            o = np.zeros((T, nh, dh))
            for t in range(T):
                S = lam[:, None, None] * S + k[t][:, :, None] * v[t][:, None, :]
                o[t] = np.einsum("hd,hde->he", q[t], S)
            o = rms(o.reshape(T, nh * dh), g(p + "self_attn.norm.weight"), 1e-6)
            gate = 1 / (1 + np.exp(-(u @ g(p + "self_attn.output_gate.weight").T)))
            a = (gate * o) @ g(p + "self_attn.out_proj.weight").T
            al, be = f["ab"]["lin"]
        else:
            q = (u @ g(p + "self_attn.q_proj.weight").T).reshape(T, nh, dh)
            k = (u @ g(p + "self_attn.k_proj.weight").T).reshape(T, nkv, dh)
            v = (u @ g(p + "self_attn.v_proj.weight").T).reshape(T, nkv, dh)
            inv = 1.0 / (f["theta"] ** (np.arange(0, rd, 2) / rd))
            ang = np.arange(T)[:, None] * inv
            c, s = np.cos(ang)[:, None], np.sin(ang)[:, None]

            def rope(z):
                z = z.copy()
                a1, a2 = z[..., : rd // 2].copy(), z[..., rd // 2: rd].copy()
                z[..., : rd // 2], z[..., rd // 2: rd] = a1 * c - a2 * s, a2 * c + a1 * s
                return z

            q, k = rope(q), rope(k)
            grp = nh // nkv
            o = np.zeros((T, nh, dh))
            for h in range(nh):
                sc = q[:, h] @ k[:, h // grp].T / math.sqrt(dh)
                sc = np.where(np.tril(np.ones((T, T))) > 0, sc, -np.inf)
                pr = np.exp(sc - sc.max(-1, keepdims=True))
                pr /= pr.sum(-1, keepdims=True)
                o[:, h] = pr @ v[:, h // grp]
            a = o.reshape(T, nh * dh) @ g(p + "self_attn.o_proj.weight").T
            al, be = f["ab"]["full"]
        x = u * al + a * be
        u2 = rms(x, g(p + "post_attention_layernorm.weight"), 1e-5)
        lg = u2 @ g(p + "block_sparse_moe.gate.weight").T
        pr = np.exp(lg - lg.max(-1, keepdims=True))
        pr /= pr.sum(-1, keepdims=True)
        m = np.zeros_like(u2)
        for t in range(T):
            top = np.argsort(-pr[t], kind="stable")[:K]
            w = pr[t, top] / pr[t, top].sum()
            for e, wt in sorted(zip(top, w)):
                q1 = f"{p}block_sparse_moe.experts.{e}."
                y = (silu(u2[t] @ g(q1 + "w1.weight").T) * (u2[t] @ g(q1 + "w3.weight").T)) @ g(q1 + "w2.weight").T
                m[t] += wt * y
        al, be = f["ab"]["mlp"]
        x = u2 * al + m * be
    return rms(x, g("model.norm.weight"), 1e-5) @ g("lm_head.weight").T


def make_fixture(f, out_root):
    cfg = hf_config(f)
    for seed in range(f["seed"], f["seed"] + 40):
        gen = torch.Generator().manual_seed(seed)
        model = make_model(cfg).to(torch.float64).eval()
        randomize(model, f, gen)
        set_decay_tables(model, f)
        restore = patch_partial_rotary(model, f["rotary"], f["theta"]) if f["rotary"] else (lambda: None)
        try:
            ids = torch.randint(0, f["V"], (f["T"],), generator=gen).tolist()
            margin, logits = router_margin(model, lambda: forward(model, ids))
            seq, min_greedy_gap, min_router = list(ids), 1e9, margin
            for _ in range(f["greedy"]):
                mg, lg = router_margin(model, lambda: forward(model, seq))
                min_router = min(min_router, mg)
                last = lg[-1]
                top2 = torch.topk(last, 2).values
                min_greedy_gap = min(min_greedy_gap, float((top2[0] - top2[1]) / last.abs().max()))
                seq.append(int(torch.argmax(last)))
        finally:
            restore()
        ok = min_router > 1e-3 and min_greedy_gap > 1e-3
        print(f"  {f['name']} seed {seed}: router margin {min_router:.2e}, greedy margin {min_greedy_gap:.2e}",
              "ok" if ok else "near tie, next seed")
        if ok:
            break
    else:
        raise SystemExit(f"{f['name']}: no seed without near ties")
    d = os.path.join(out_root, f["name"])
    os.makedirs(d, exist_ok=True)
    tensors = checkpoint_tensors(model, f)
    names = {k for k in tensors if k.split(".")[-1] not in BUFFERS}
    if names != expected_names(f):
        raise SystemExit(f"{f['name']}: tensor names differ: missing {sorted(expected_names(f) - names)[:8]} "
                         f"extra {sorted(names - expected_names(f))[:8]}")
    save_file(tensors, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
    if f["layout"] == "orig":
        conf = original_config(f)
    else:
        conf = json.loads(cfg.to_json_string())
        conf["architectures"] = ["MiniMaxForCausalLM"]
        if f["rotary"]:
            conf["rotary_dim"] = f["rotary"]
    with open(os.path.join(d, "config.json"), "w") as fh:
        json.dump(conf, fh, indent=1)
    with open(os.path.join(d, "ids.txt"), "w") as fh:
        fh.write(" ".join(map(str, ids)) + "\n")
    with open(os.path.join(d, "greedy.txt"), "w") as fh:
        fh.write(" ".join(map(str, seq[len(ids):])) + "\n")
    np.save(os.path.join(d, "logits.npy"), logits.numpy().astype(np.float32))
    # Independent check: numpy on the saved files must reproduce transformers' logits.
    back = {k: v.to(torch.float64).numpy() for k, v in load_file(os.path.join(d, "model.safetensors")).items()}
    ref = numpy_forward(f, back, ids)
    rel = float(np.abs(ref - logits.numpy()).max() / np.abs(logits.numpy()).max())
    print(f"  {f['name']}: numpy re-implementation vs transformers: max rel diff {rel:.2e}")
    meta = dict(fixture={k: v for k, v in f.items() if k != "ab"}, alpha_beta=f["ab"], seed=seed,
                router_margin=min_router, greedy_margin=min_greedy_gap, numpy_vs_transformers=rel,
                transformers=transformers.__version__, torch=torch.__version__,
                attn_implementation=getattr(model.config, "_attn_implementation", None),
                experts_implementation=getattr(model.config, "_experts_implementation", None))
    with open(os.path.join(d, "meta.json"), "w") as fh:
        json.dump(meta, fh, indent=1)
    # transformers keeps RoPE angles (full-head fixtures) and the router softmax in fp32: ~1e-7 is expected.
    if rel > 1e-5:
        print(f"  WARNING {f['name']}: the numpy check disagrees with transformers ({rel:.2e})")
    return rel


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "golden"
    torch.set_num_threads(8)
    print("transformers", transformers.__version__, "torch", torch.__version__)
    worst, failed = 0.0, []
    for f in FIXTURES:
        try:
            worst = max(worst, make_fixture(f, out))
        except Exception:  # keep going: the other fixtures are still worth having
            import traceback
            traceback.print_exc()
            failed.append(f["name"])
    print("done; worst numpy-vs-transformers rel diff", worst, "failed:", failed)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
