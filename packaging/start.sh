#!/usr/bin/env bash
# README's first command: install what is missing, build, and start M1 Studio on the embedded demo model.
# With no display it runs the same pipeline headless (ingest -> pack -> prefill -> answer) on the samples.
set -euo pipefail
cd "$(dirname "$0")/.."
bash packaging/install-deps.sh
cmake --preset default >/dev/null
cmake --build --preset default -j "$(nproc)"
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -z "${M1_HEADLESS:-}" ]; then
  exec build/app/studio/m1-studio "$@"
fi
echo "No display: running the headless pipeline on resources/samples with the embedded demo model."
exec build/app/m1 ask resources/samples --question "What are these documents about?" \
  --db "${TMPDIR:-/tmp}/m1-studio-demo.db"
