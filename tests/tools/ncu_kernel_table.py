#!/usr/bin/env python3
"""Per-kernel table of one profiled region from `ncu --csv --metrics gpu__time_duration.sum` output: kernels
in launch order grouped by (shortened) name, with launches, total and mean microseconds, largest first.
usage: ncu_kernel_table.py NCU_CSV_LOG"""
import csv
import re
import sys
from collections import OrderedDict


def short(name):
    name = re.sub(r"^void ", "", name)
    name = name.replace("<unnamed>::", "").replace("(anonymous namespace)::", "")
    name = re.sub(r"\(.*", "", name)  # drop the argument list
    name = re.sub(r"<.*", "", name)   # and template arguments
    return name.split("::")[-1][:60]


def main():
    lines = [l for l in open(sys.argv[1], errors="replace") if l.startswith('"')]
    rows = list(csv.DictReader(lines))
    agg = OrderedDict()
    total = 0.0
    for r in rows:
        if r.get("Metric Name") != "gpu__time_duration.sum":
            continue
        v = float(r["Metric Value"].replace(",", ""))
        unit = r.get("Metric Unit", "ns")
        us = v / 1e3 if unit in ("ns", "nsecond") else v * 1e3 if unit in ("ms", "msecond") else v
        k = short(r["Kernel Name"])
        n, t = agg.get(k, (0, 0.0))
        agg[k] = (n + 1, t + us)
        total += us
    print(f"{'kernel':60s} {'launches':>8s} {'total us':>10s} {'mean us':>9s} {'share':>6s}")
    for k, (n, t) in sorted(agg.items(), key=lambda kv: -kv[1][1]):
        print(f"{k:60s} {n:8d} {t:10.1f} {t / n:9.1f} {100 * t / total:5.1f}%")
    print(f"{'all kernels (each alone, caches flushed)':60s} {sum(n for n, _ in agg.values()):8d} {total:10.1f}")


if __name__ == "__main__":
    main()
