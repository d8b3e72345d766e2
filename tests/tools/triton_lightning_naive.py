#!/usr/bin/env python3
"""The naive lightning-attention prefill the issue's 5x target is measured against, as ANCHORS.md describes it: a
per-head sequential Triton kernel. One program per (head, block of BV value columns) walks its head's tokens in
order, BLOCK at a time, with its [128, BV] slice of the fp32 state in registers: o = (QK^T * decay mask) V +
(lambda^{i+1} Q) S, then S = lambda^BLOCK S + (lambda^{BLOCK-1-j} K)^T V. At 8 heads and BV = 32 that is 32
programs on a 132-SM GPU (the anchor's "32 CTAs": starved by design). Written here for the same-run comparison;
checked first against the fp32 per-token recurrence of torch_lightning_peer.py (initial state in, final state
out), then timed with CUDA events at M1's per-GPU shape (8 heads x 128, inputs [T, 8, 384] bf16).
Usage: triton_lightning_naive.py [--json FILE] [--max-tokens N] [--bv 32]
"""
import argparse
import json
import math

import torch
import triton
import triton.language as tl

from peer_timing import median_ms
from torch_lightning_peer import D, H, inputs, recurrence, rel, slopes

BLOCK = 64


@triton.jit
def naive_walk(x, state_in, state_out, out, slope, T, BLOCK: tl.constexpr, D: tl.constexpr, BV: tl.constexpr,
               NH: tl.constexpr):
    h = tl.program_id(0)
    col = tl.program_id(1) * BV + tl.arange(0, BV)
    d = tl.arange(0, D)
    pos = tl.arange(0, BLOCK).to(tl.float32)
    s = tl.load(slope + h)
    q_decay = tl.exp(-s * (pos + 1.0))
    k_decay = tl.exp(-s * (BLOCK - 1.0 - pos))
    diff = pos[:, None] - pos[None, :]
    mask = tl.where(diff >= 0, tl.exp(-s * tl.maximum(diff, 0.0)), 0.0)
    block_decay = tl.exp(-s * BLOCK)
    S = tl.load(state_in + h * D * D + d[:, None] * D + col[None, :])
    for t0 in range(0, T, BLOCK):
        rows = t0 + tl.arange(0, BLOCK)
        base = x + rows[:, None] * (NH * 3 * D) + h * 3 * D
        q = tl.load(base + d[None, :])
        k = tl.load(base + D + d[None, :])
        v = tl.load(base + 2 * D + col[None, :])
        p = (tl.dot(q, tl.trans(k)) * mask).to(tl.bfloat16)
        qd = (q.to(tl.float32) * q_decay[:, None]).to(tl.bfloat16)
        o = tl.dot(p, v) + tl.dot(qd, S.to(tl.bfloat16))
        tl.store(out + rows[:, None] * (NH * D) + h * D + col[None, :], o.to(tl.bfloat16))
        kd = (k.to(tl.float32) * k_decay[:, None]).to(tl.bfloat16)
        S = block_decay * S + tl.dot(tl.trans(kd), v)
    tl.store(state_out + h * D * D + d[:, None] * D + col[None, :], S)


def lightning_naive(x, s, state0, bv):
    T = x.shape[0]
    assert T % BLOCK == 0
    o = torch.empty(T, H * D, device=x.device, dtype=torch.bfloat16)
    fin = torch.empty_like(state0)
    naive_walk[(H, D // bv)](x, state0, fin, o, s, T, BLOCK=BLOCK, D=D, BV=bv, NH=H)
    return o, fin


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", default="triton_lightning_naive.json")
    ap.add_argument("--max-tokens", type=int, default=1 << 20)
    ap.add_argument("--bv", type=int, default=32)
    a = ap.parse_args()
    s = slopes()
    x = inputs(1024, 1)
    st0 = torch.randn(H, D, D, device="cuda")
    o, fin = lightning_naive(x, s, st0, a.bv)
    ro, rfin = recurrence(x, s, st0)
    eo, es = rel(o, ro), rel(fin, rfin)
    ok = math.isfinite(eo) and math.isfinite(es) and eo < 2e-2 and es < 1e-2
    print(f"triton naive (BV={a.bv}, {H * D // a.bv} programs) vs fp32 recurrence, T=1024: out err {eo:.2e}, "
          f"state err {es:.2e}" + ("" if ok else "  VALIDATION FAILED"))
    rows = []
    for T in (8192, 32768, 131072, 1048576):
        if T > a.max_tokens or not ok:
            continue
        x = inputs(T, T)
        ms = median_ms(lambda: lightning_naive(x, s, st0, a.bv), 2, 10 if T < (1 << 20) else 5)
        flop = 4.0 * T * H * D * D
        rows.append({"op": "triton_naive", "tokens": T, "time_us": ms * 1e3, "tflops": flop / ms / 1e9,
                     "bv": a.bv, "programs": H * D // a.bv})
        print(f"triton naive T={T}: {ms * 1e3:.1f} us, {flop / ms / 1e9:.1f} TFLOP/s")
        del x
        torch.cuda.empty_cache()
    with open(a.json, "w") as f:
        json.dump({"device": torch.cuda.get_device_name(), "torch": torch.__version__, "triton": triton.__version__,
                   "check_err": [eo, es], "rows": rows}, f, indent=1)
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
