#!/usr/bin/env python3
"""The torch peer of tests/bench/attention_bench.cu, run in the same command on the same GPU.

Causal prefill with torch.nn.functional.scaled_dot_product_attention at M1's per-GPU shape
(8 query heads, 1 KV head, head dim 128) for each SDPA backend (cuDNN, flash, efficient), and decode
(one query against L cached keys). TFLOP/s and GB/s use the formulas of attention_bench.
Usage: torch_attention_peer.py [--json FILE] [--max-tokens N] [--min-tokens N] [--parts pd] [--backends cudnn,flash,efficient]
(prefill runs at 8K/32K/128K/1M tokens within the bounds; at 1M, 1 warm-up and 3 timed calls)
"""
import argparse
import json

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

from peer_timing import median_ms

H, HKV, D = 8, 1, 128


def run_sdpa(backend, q, k, v, causal, gqa):
    with sdpa_kernel([backend]):
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=gqa)


def reference_rows(q, k, v, rows):
    """fp32 attention of selected query rows (causal, positions = row index + offset)."""
    T = k.shape[2]
    qs = q[:, :, rows].float()
    kk = k.float().expand(-1, H, -1, -1)
    vv = v.float().expand(-1, H, -1, -1)
    s = (qs @ kk.transpose(-1, -2)) * D ** -0.5
    pos = torch.tensor(rows, device=q.device)[:, None] + (T - q.shape[2])
    s = s.masked_fill(torch.arange(T, device=q.device)[None, :] > pos, float("-inf"))
    return torch.softmax(s, -1) @ vv


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", default="torch_attention_peer.json")
    ap.add_argument("--max-tokens", type=int, default=1 << 20)
    ap.add_argument("--min-tokens", type=int, default=0)
    ap.add_argument("--parts", default="pd", help="p: prefill, d: decode")
    ap.add_argument("--backends", default="cudnn,flash,efficient")
    args = ap.parse_args()
    dev = torch.device("cuda")
    name = torch.cuda.get_device_name()
    results = {"device": name, "torch": torch.__version__, "cudnn": torch.backends.cudnn.version(), "rows": []}
    backends = [("cudnn", SDPBackend.CUDNN_ATTENTION), ("flash", SDPBackend.FLASH_ATTENTION),
                ("efficient", SDPBackend.EFFICIENT_ATTENTION)]
    backends = [b for b in backends if b[0] in args.backends.split(",")]
    g = torch.Generator(device=dev).manual_seed(0)
    for T in (8192, 32768, 131072, 1 << 20):
        if T > args.max_tokens or T < args.min_tokens or "p" not in args.parts:
            continue
        q = torch.randn(1, H, T, D, device=dev, dtype=torch.bfloat16, generator=g)
        k = torch.randn(1, HKV, T, D, device=dev, dtype=torch.bfloat16, generator=g)
        v = torch.randn(1, HKV, T, D, device=dev, dtype=torch.bfloat16, generator=g)
        kx = vx = out = None  # K/V expanded to 8 heads, made only for a backend without native GQA
        rows = list(range(0, 128)) + list(range(T - 128, T))
        ref = reference_rows(q, k, v, rows)
        flop = 4.0 * H * D * T * (T + 1) / 2
        for bname, be in backends:
            for gqa in (True, False):  # native GQA where the backend takes it, else K/V expanded to 8 heads
                if not gqa and kx is None:
                    kx, vx = k.expand(-1, H, -1, -1).contiguous(), v.expand(-1, H, -1, -1).contiguous()
                kk, vv = (k, v) if gqa else (kx, vx)
                try:
                    out = run_sdpa(be, q, kk, vv, True, gqa)
                    torch.cuda.synchronize()
                except Exception as e:  # backend refuses this shape
                    print(f"prefill T={T} {bname} gqa={gqa}: not available ({str(e).splitlines()[0][:100]})")
                    continue
                got = out[:, :, rows].float()
                err = ((got - ref).norm() / ref.norm()).item()
                ok = bool(torch.isfinite(out).all().item()) and err < 2e-2
                warm, reps = (1, 3) if T >= (1 << 20) else (3, 10 if T >= 131072 else 30)
                ms = median_ms(lambda: run_sdpa(be, q, kk, vv, True, gqa), warm, reps)
                row = {"op": "sdpa_prefill", "backend": bname, "gqa_native": gqa, "tokens": T, "time_us": ms * 1e3,
                       "tflops": flop / ms / 1e9, "rel_err": err, "valid": ok}
                results["rows"].append(row)
                print(f"prefill T={T:7d} {bname:9s} gqa={gqa!s:5s} {ms * 1e3:10.1f} us {flop / ms / 1e9:7.1f} TFLOP/s err {err:.2e}")
                break
        del q, k, v, kx, vx, ref, out
        torch.cuda.empty_cache()
    for L, B in ((8192, 1), (32768, 1), (131072, 1), (1048576, 1), (32768, 16), (131072, 8)):
        if L > args.max_tokens or "d" not in args.parts:
            continue
        q = torch.randn(B, H, 1, D, device=dev, dtype=torch.bfloat16, generator=g)
        k = torch.randn(B, HKV, L, D, device=dev, dtype=torch.bfloat16, generator=g)
        v = torch.randn(B, HKV, L, D, device=dev, dtype=torch.bfloat16, generator=g)
        gbytes = 2.0 * B * L * HKV * D * 2
        for bname, be in backends + [("math", SDPBackend.MATH)]:
            try:
                out = run_sdpa(be, q, k, v, False, True)
                torch.cuda.synchronize()
            except Exception as e:
                print(f"decode L={L} B={B} {bname}: not available ({str(e).splitlines()[0][:100]})")
                continue
            ref = torch.softmax((q.float() @ k.float().transpose(-1, -2)) * D ** -0.5, -1) @ v.float()
            err = ((out.float() - ref).norm() / ref.norm()).item()
            ms = median_ms(lambda: run_sdpa(be, q, k, v, False, True), 5, 50)
            results["rows"].append({"op": "sdpa_decode", "backend": bname, "tokens": L, "batch": B,
                                    "time_us": ms * 1e3, "gbps": gbytes / ms / 1e6, "rel_err": err})
            print(f"decode  L={L:7d} B={B:2d} {bname:9s} {ms * 1e3:10.1f} us {gbytes / ms / 1e6:8.1f} GB/s err {err:.2e}")
        del q, k, v
        torch.cuda.empty_cache()
    # Bandwidth ceiling measured here: a large device-to-device copy (bytes read + written).
    x = torch.empty(2 << 30, dtype=torch.uint8, device=dev)
    y = torch.empty_like(x)
    ms = median_ms(lambda: y.copy_(x), 3, 20)
    results["copy_gbps"] = 2.0 * x.numel() / ms / 1e6
    print(f"device-to-device copy: {results['copy_gbps']:.0f} GB/s (read + write)")
    with open(args.json, "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
