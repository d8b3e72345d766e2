#!/usr/bin/env python3
# Runs HF `tokenizers` (where it is installed: the GPU host) on our test texts and the benchmark text.
# Writes OUT/expected/<name>.json (ids for tests/data/tokenizer/), OUT/hf_bench.json (timings) and
# OUT/corpus_ids/<name>.i32.gz (ids of the benchmark text, to locate any mismatch).
# Usage: tokenizer_hf_reference.py --tokenizers DIR --texts texts.json --corpus FILE --out OUT
import argparse
import gzip
import hashlib
import json
import os
import pathlib
import statistics
import struct
import sys
import time
import traceback

import tokenizers
from tokenizers import Tokenizer

SHORT = 2000  # texts up to this many characters keep their full ids and decoded text


def fnv1a(ids):
    h = 1469598103934665603
    for b in struct.pack(f"<{len(ids)}i", *ids):
        h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def expand(case):
    return case["text"] if "text" in case else case["repeat"] * case["count"]


def reference(name, path, cases):
    tok = Tokenizer.from_file(str(path))
    out = {"tokenizer": name, "hf_tokenizers": tokenizers.__version__,
           "sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "cases": []}
    for case in cases:
        text = expand(case)
        ids = tok.encode(text, add_special_tokens=False).ids
        entry = {"name": case["name"], "count": len(ids)}
        if len(text) <= SHORT:
            entry["ids"] = ids
            entry["decoded"] = tok.decode(ids, skip_special_tokens=False)
            entry["decoded_skip_special"] = tok.decode(ids, skip_special_tokens=True)
        else:
            entry["fnv64"] = fnv1a(ids)
            entry["head"] = ids[:32]
            entry["decode_equals_text"] = tok.decode(ids, skip_special_tokens=False) == text
        out["cases"].append(entry)
    return tok, out


def bench(tok, text, reps=3):
    whole = []
    for _ in range(reps):
        t0 = time.perf_counter()
        ids = tok.encode(text, add_special_tokens=False).ids
        whole.append(time.perf_counter() - t0)
    lines = text.split("\n")
    step = max(1, len(lines) // 512)
    batch_in = ["\n".join(lines[i:i + step]) + "\n" for i in range(0, len(lines), step)]
    batch = []
    for _ in range(reps):
        t0 = time.perf_counter()
        n = sum(len(e.ids) for e in tok.encode_batch(batch_in, add_special_tokens=False))
        batch.append(time.perf_counter() - t0)
    mb = len(text.encode()) / 1e6
    w, b = statistics.median(whole), statistics.median(batch)
    return ids, {"bytes": len(text.encode()), "tokens": len(ids), "fnv64": fnv1a(ids), "s_encode": w,
                 "mb_per_s_encode": mb / w, "tokens_per_s_encode": len(ids) / w, "s_batch": b,
                 "batch_pieces": len(batch_in), "batch_tokens": n, "mb_per_s_batch": mb / b,
                 "tokens_per_s_batch": n / b, "cpus": os.cpu_count()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizers", required=True)  # DIR/<name>/tokenizer.json
    ap.add_argument("--texts", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    out = pathlib.Path(a.out)
    (out / "expected").mkdir(parents=True, exist_ok=True)
    (out / "corpus_ids").mkdir(parents=True, exist_ok=True)
    cases = json.loads(pathlib.Path(a.texts).read_text(encoding="utf-8"))
    corpus = pathlib.Path(a.corpus).read_bytes().decode("utf-8")  # no newline translation
    results = {}
    for d in sorted(pathlib.Path(a.tokenizers).iterdir()):
        name = d.name
        try:
            tok, exp = reference(name, d / "tokenizer.json", cases)
            (out / "expected" / f"{name}.json").write_text(json.dumps(exp, ensure_ascii=False) + "\n", encoding="utf-8")
            ids, results[name] = bench(tok, corpus)
            with gzip.open(out / "corpus_ids" / f"{name}.i32.gz", "wb") as f:
                f.write(struct.pack(f"<{len(ids)}i", *ids))
            print(name, json.dumps(results[name]), flush=True)
        except Exception:
            traceback.print_exc()
            results[name] = {"error": traceback.format_exc()}
    (out / "hf_bench.json").write_text(json.dumps({"hf_tokenizers": tokenizers.__version__, "python": sys.version,
                                                   "results": results}, indent=1) + "\n")


if __name__ == "__main__":
    main()
