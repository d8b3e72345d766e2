"""CUDA-event timing shared by the torch / Triton peer scripts (run on the GPU host, beside our benchmarks)."""
import statistics

import torch


def median_ms(fn, warmup, reps, indexed=False):
    """Median milliseconds of `reps` calls of fn, each bracketed by CUDA events, after `warmup` untimed calls.
    indexed: fn takes the call's number (0, 1, ...), so that it can rotate its inputs past the L2."""
    call = fn if indexed else (lambda _: fn())
    for i in range(warmup):
        call(i)
    times = []
    for i in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        call(warmup + i)
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b))
    return statistics.median(times)
