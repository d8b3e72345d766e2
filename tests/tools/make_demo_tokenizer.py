#!/usr/bin/env python3
# Makes resources/demo/tokenizer.json: a byte-level BPE with exactly 1024 ids (0..255 the bytes,
# 256..999 merges learned deterministically from fixed text files of this repository, 1000..1023 the
# M1 special tokens and reserved slots). Run from the repository root; the output never changes for the
# same input files. Usage: python3 tests/tools/make_demo_tokenizer.py [--out resources/demo/tokenizer.json]
import argparse
import collections
import json
import pathlib
import re
import subprocess

# Training text: these files as of a fixed commit (read with `git show`), so later edits never change
# the output.
TRAIN_COMMIT = "c82e4c6"
TRAIN_FILES = [
    "docs/DEVELOPING.md",
    "engine/include/m1/state_io.h",
    "app/m1/cli.h",
    "app/m1/commands.cpp",
    "CMakeLists.txt",
    "tests/CMakeLists.txt",
    "cmake/M1Dependencies.cmake",
    "packaging/install-deps.sh",
]
# Chat-shaped text so that the turn headers and <think> tags get merged tokens too.
CHAT_SAMPLE = (
    "<beginning_of_sentence>system ai_setting=assistant\nYou are a helpful assistant.<end_of_sentence>\n"
    "<beginning_of_sentence>user name=user\nWhat is in the document?<end_of_sentence>\n"
    "<beginning_of_sentence>ai name=assistant\n<think>\nThe user asks about the document.\n</think>\n"
    "The document describes the model.<end_of_sentence>\n"
) * 8
VOCAB_BASE = 1000  # ids below: bytes and merges
SPECIALS = ["<beginning_of_sentence>", "<end_of_sentence>", "<begin_of_document>", "<end_of_document>"]
SPECIALS += [f"<reserved_{i}>" for i in range(len(SPECIALS), 1024 - VOCAB_BASE)]
# The pre-tokenizer regex written into the file (GPT-4o/Qwen style); training splits words the same way
# with Python's `re`, where [^\W\d_] stands for \p{L}.
SPLIT_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
               r"|\s*[\r\n]+|\s+(?!\S)|\s+")
TRAIN_REGEX = re.compile(r"'(?i:s|t|re|ve|m|ll|d)|[^\r\n\w]?[^\W\d_]+|\d{1,3}| ?[^\s\w]+[\r\n]*"
                         r"|\s*[\r\n]+|\s+(?!\S)|\s+")


def bytes_to_unicode():
    """GPT-2's reversible map from bytes to printable characters (space -> 'Ġ')."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def train(text, n_merges):
    words = collections.Counter(tuple(w.encode("utf-8")) for w in TRAIN_REGEX.findall(text))
    words = {w: c for w, c in words.items() if len(w) > 1}
    merges = []
    for _ in range(n_merges):
        pairs = collections.Counter()
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] += c
        if not pairs:
            break
        # Most frequent pair; ties go to the smallest ids, so the result is deterministic.
        best = min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        new_id = 256 + len(merges)
        merges.append(best)
        merged = {}
        for w, c in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(new_id)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            merged[tuple(out)] = merged.get(tuple(out), 0) + c
        words = merged
    return merges


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="resources/demo/tokenizer.json")
    args = ap.parse_args()
    text = "".join(subprocess.run(["git", "show", f"{TRAIN_COMMIT}:{f}"], check=True, capture_output=True)
                   .stdout.decode("utf-8") for f in TRAIN_FILES) + CHAT_SAMPLE
    b2u = bytes_to_unicode()
    strings = [b2u[b] for b in range(256)]
    # Learn until 1000 distinct strings exist; a pair whose string already exists becomes a second
    # merge for the same id (allowed by the format) instead of a new id.
    raw = train(text, 3 * VOCAB_BASE)
    vocab = {s: i for i, s in enumerate(strings)}
    merges, id_of_raw = [], list(range(256))
    for a, b in raw:
        s = strings[id_of_raw[a]] + strings[id_of_raw[b]]
        if s not in vocab:
            if len(vocab) == VOCAB_BASE:
                break
            vocab[s] = len(strings)
            strings.append(s)
        id_of_raw.append(vocab[s])
        merges.append([strings[id_of_raw[a]], strings[id_of_raw[b]]])
    if len(vocab) != VOCAB_BASE:
        raise SystemExit(f"training text too small: only {len(vocab)} tokens learned")
    added = [{"id": VOCAB_BASE + i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for i, s in enumerate(SPECIALS)]
    doc = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": SPLIT_REGEX}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
        "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": merges},
    }
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{out}: {len(vocab)} BPE tokens ({len(merges)} merges) + {len(added)} special tokens")


if __name__ == "__main__":
    main()
