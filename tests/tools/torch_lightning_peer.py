#!/usr/bin/env python3
"""Torch peer for the lightning prefill benchmark (tests/bench/lightning_bench.cu): the same operation in plain
PyTorch, chunked the way the lightning-attention papers write it, at M1's per-GPU shape (8 heads x 128).

Per block of B tokens: the block's state A = K~^T V (bf16 tensor-core matmuls), a two-level scan of the states
in fp32 (an einsum with a decay matrix inside groups of 64 blocks, a Python loop over groups), then
O = diag(lambda^{i+1}) Q S_in + ((Q K^T) * decay mask) V. Checked first against an fp32 per-token recurrence at
a small size; timed with CUDA events (warm-up, median). TFLOP/s = 4*T*H*128^2 / t, the benchmark's formula.
Usage: torch_lightning_peer.py [--json FILE] [--max-tokens N]
"""
import argparse
import json
import math

import torch

from peer_timing import median_ms

H, D, BLOCK, GROUP = 8, 128, 256, 64


def slopes():
    # M1 slopes at layer 40 of 80 for heads 56..63 (TP rank 7), as the C++ benchmark uses.
    return torch.tensor([2.0 ** (-(56 + h + 1) / 8.0) * (1 - 40.0 / 79 + 1e-5) for h in range(H)],
                        dtype=torch.float32, device="cuda")


def lightning_torch(x, s, state0):
    """x: [T, H, 3*D] bf16 (q | k | v per head); s: [H] slopes; state0: [H, D, D] fp32. Returns (o [T, H*D] bf16,
    final state fp32). T must be a multiple of BLOCK."""
    T = x.shape[0]
    nb = T // BLOCK
    qkv = x.view(nb, BLOCK, H, 3, D).permute(3, 2, 0, 1, 4)  # [3, H, nb, B, D]
    q, k, v = qkv[0], qkv[1], qkv[2]
    lam = torch.exp(-s)  # [H]
    pos = torch.arange(BLOCK, device=x.device, dtype=torch.float32)
    ldec = torch.exp(-s[:, None] * pos[None, :])  # [H, B]: lambda^pos
    kdec = (k * ldec.flip(1)[:, None, :, None].to(k.dtype))  # lambda^{B-1-j}
    A0 = torch.matmul(kdec.transpose(-1, -2), v).float().reshape(H, nb, D * D)  # block states
    A = A0
    # Two-level exclusive scan of the block states: X[g, i] = sum_{i'<i} lambda^{B(i-1-i')} A[g, i'].
    ng = (nb + GROUP - 1) // GROUP
    if ng * GROUP != nb:
        A = torch.cat([A, A.new_zeros(H, ng * GROUP - nb, D * D)], 1)
    A = A.view(H, ng, GROUP, D * D)
    gi = torch.arange(GROUP, device=x.device, dtype=torch.float32)
    diff = gi[:, None] - 1 - gi[None, :]
    L = torch.where(diff >= 0, torch.exp(-s[:, None, None] * BLOCK * diff.clamp(min=0)), torch.zeros(()).cuda())
    X = torch.einsum("hij,hgjx->hgix", L, A)
    lamB = lam ** BLOCK
    tot = lamB[:, None, None] * X[:, :, -1] + A[:, :, -1]  # state change over each group
    P = torch.empty(H, ng + 1, D * D, device=x.device, dtype=torch.float32)
    P[:, 0] = state0.reshape(H, D * D)
    decg = (lam ** (BLOCK * GROUP))[:, None]
    for g in range(ng):
        P[:, g + 1] = decg * P[:, g] + tot[:, g]
    sin = torch.exp(-s[:, None, None] * BLOCK * gi[None, :, None])  # [H, GROUP, 1]: lambda^{B i}
    S_in = (sin[:, None] * P[:, :ng, None] + X).reshape(H, ng * GROUP, D, D)[:, :nb]
    lamB_ = lamB[:, None]
    final = (lamB_ * S_in[:, nb - 1].reshape(H, D * D) + A0[:, nb - 1]).reshape(H, D, D)  # padding decays P
    # Outputs.
    qdec = q * torch.exp(-s[:, None] * (pos[None, :] + 1))[:, None, :, None].to(q.dtype)
    o = torch.matmul(qdec, S_in.to(torch.bfloat16))
    i = pos[:, None]
    j = pos[None, :]
    mask = torch.where(i >= j, torch.exp(-s[:, None, None] * (i - j).clamp(min=0)), torch.zeros(()).cuda())
    att = torch.matmul(q, k.transpose(-1, -2)).float() * mask[:, None]
    o = o + torch.matmul(att.to(torch.bfloat16), v)
    return o.permute(1, 2, 0, 3).reshape(T, H * D), final


def recurrence(x, s, state0):
    """fp32 per-token recurrence (the definition): S = lambda S + k^T v, o = q S."""
    T = x.shape[0]
    xf = x.float().view(T, H, 3, D)
    lam = torch.exp(-s)[:, None, None]
    S = state0.clone()
    o = torch.empty(T, H, D, device=x.device)
    for t in range(T):
        q, k, v = xf[t, :, 0], xf[t, :, 1], xf[t, :, 2]
        S = lam * S + k[:, :, None] * v[:, None, :]
        o[t] = torch.einsum("hd,hde->he", q, S)
    return o.reshape(T, H * D), S


def rel(a, b):
    return (a.float() - b.float()).norm().item() / b.float().norm().item()


def inputs(T, seed):
    g = torch.Generator(device="cuda").manual_seed(seed)
    z = torch.randn(T, H, 3 * D, device="cuda", generator=g)
    return (0.5 * z * torch.sigmoid(z)).to(torch.bfloat16)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", default="torch_lightning_peer.json")
    ap.add_argument("--max-tokens", type=int, default=1 << 20)
    a = ap.parse_args()
    s = slopes()
    torch.manual_seed(0)
    # Check at a small size against the fp32 recurrence, with an initial state.
    x = inputs(1024, 1)
    st0 = torch.randn(H, D, D, device="cuda")
    o, fin = lightning_torch(x, s, st0)
    ro, rfin = recurrence(x, s, st0)
    eo, es = rel(o, ro), rel(fin, rfin)
    ok = math.isfinite(eo) and eo < 2e-2 and es < 1e-2
    print(f"torch lightning vs fp32 recurrence, T=1024: out err {eo:.2e}, state err {es:.2e}"
          + ("" if ok else "  VALIDATION FAILED"))
    rows = []
    for T in (8192, 32768, 131072, 1048576):
        if T > a.max_tokens or not ok:
            continue
        x = inputs(T, T)
        ms = median_ms(lambda: lightning_torch(x, s, st0), 2, 10 if T < (1 << 20) else 5)
        flop = 4.0 * T * H * D * D
        byts = T * H * D * 2 * 4
        rows.append({"op": "torch_lightning", "tokens": T, "time_us": ms * 1e3, "tflops": flop / ms / 1e9,
                     "gbps": byts / ms / 1e6, "block": BLOCK})
        print(f"torch lightning T={T}: {ms * 1e3:.1f} us, {flop / ms / 1e9:.1f} TFLOP/s, {byts / ms / 1e6:.0f} GB/s")
        del x
        torch.cuda.empty_cache()
    with open(a.json, "w") as f:
        json.dump({"device": torch.cuda.get_device_name(), "torch": torch.__version__, "check_err": [eo, es],
                   "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
