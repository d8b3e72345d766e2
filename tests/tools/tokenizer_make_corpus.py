#!/usr/bin/env python3
# Writes the benchmark text (>= 4 MB, deterministic): the repository's source and documentation files
# at HEAD, each followed by one of the multilingual test texts, repeated until the size is reached.
# Usage: tokenizer_make_corpus.py OUT [MIN_BYTES]
import json
import pathlib
import subprocess
import sys

root = pathlib.Path(__file__).resolve().parents[2]
out, min_bytes = pathlib.Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 4_200_000
files = subprocess.run(["git", "ls-files"], cwd=root, check=True, capture_output=True, text=True).stdout.split()
files = [f for f in sorted(files) if f.endswith((".cpp", ".h", ".md", ".py", ".cmake", ".txt", ".sh", ".cu"))
         and not f.endswith("unicode_data.cpp")]
texts = [c["text"] for c in json.loads((root / "tests/data/tokenizer/texts.json").read_text(encoding="utf-8")) if "text" in c]
parts, size, k = [], 0, 0
while size < min_bytes:
    for f in files:
        data = (root / f).read_bytes().decode("utf-8", "replace")
        parts.append(data)
        parts.append(texts[k % len(texts)] + "\n")
        k += 1
        size += len(data.encode()) + len(parts[-1].encode())
out.write_text("".join(parts), encoding="utf-8")
print(f"{out}: {out.stat().st_size} bytes from {len(files)} files")
