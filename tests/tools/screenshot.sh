#!/usr/bin/env bash
# Starts m1-studio under Xvfb on the demo model with a few files of this repository in its library,
# asks one question, and saves the window as PNG (the CI keeps it as an artifact of the run). ctest runs
# it as gui_screenshot; exit 77 (skipped) when Xvfb is not installed.
#   tests/tools/screenshot.sh BUILD_DIR [OUT.png]      (default OUT: BUILD_DIR/m1-studio-screenshot.png)
set -euo pipefail
build=${1:?usage: screenshot.sh BUILD_DIR [OUT.png]}
build=$(cd "$build" && pwd)
out=${2:-$build/m1-studio-screenshot.png}
src=$(cd "$(dirname "$0")/../.." && pwd)
app=$build/app/studio/m1-studio
[ -x "$app" ] || { echo "screenshot: $app not built (cmake --build $build --target m1-studio)" >&2; exit 1; }
command -v xvfb-run >/dev/null || { echo "screenshot: xvfb-run missing (packaging/install-deps.sh installs xvfb)" >&2; exit 77; }

# A private home: the app's settings and database must not touch the user's.
sandbox=$(mktemp -d)
trap 'rm -rf "$sandbox"' EXIT
export HOME=$sandbox XDG_CONFIG_HOME=$sandbox/config XDG_DATA_HOME=$sandbox/data XDG_RUNTIME_DIR=$sandbox/run
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
export M1_DEMO_MODEL=${M1_DEMO_MODEL:-$src/resources/demo}

xvfb-run -a -s "-screen 0 1600x1000x24" \
  timeout 180 "$app" "$src/README.md" "$src/docs/DEVELOPING.md" \
    --db "$sandbox/data/library.db" \
    --ask "What does this project do? Cite the pages." --max-tokens 160 \
    --screenshot "$out"
[ -s "$out" ] || { echo "screenshot: no image written" >&2; exit 1; }
echo "screenshot: $out ($(stat -c %s "$out") bytes)"
