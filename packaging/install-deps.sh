#!/usr/bin/env bash
# Installs exactly the Debian 12 packages that M1 Studio's build and tests need.
# Idempotent and quiet: packages already present are skipped; safe to run twice.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git
  # engine (no Qt): JSON, hashing, BLAS, the tokenizer's regex engine, tests and benchmarks
  nlohmann-json3-dev libxxhash-dev libopenblas-dev libpcre2-dev libgtest-dev libbenchmark-dev
  # ingest and storage
  qt6-base-dev libpoppler-qt6-dev libarchive-dev libuchardet-dev libsqlite3-dev
  # app and GUI tests
  qt6-svg-dev libgl-dev xvfb xauth x11-apps
  # test inputs: encrypted PDFs, real tokenizer files from the npm registry, fuzzing
  qpdf clang-14 libclang-rt-14-dev
)
# npm: any install will do (some machines carry Node.js from elsewhere, whose nodejs conflicts with Debian's npm)
command -v npm >/dev/null || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root or install sudo (missing: ${missing[*]})" >&2; exit 1; }
  sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
