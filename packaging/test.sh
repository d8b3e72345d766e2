#!/usr/bin/env bash
# README's second command: install what is missing, build everything, run every test suite.
# Ends with one line "N passed, N failed, N skipped". Extra ctest arguments pass through (-L gpu, -R name).
set -uo pipefail
cd "$(dirname "$0")/.."
bash packaging/install-deps.sh || exit 1
preset=${M1_PRESET:-default}
cmake --preset "$preset" >/tmp/m1-configure.log 2>&1 || { cat /tmp/m1-configure.log; echo "0 passed, 1 failed"; exit 1; }
jobs=$(nproc)
cmake --build --preset "$preset" -j "$jobs" || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }
log=$(mktemp)
ctest --preset "$preset" -j "$jobs" "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
passed=$(grep -cE 'Test +#[0-9]+: .* +Passed' "$log")
skipped=$(grep -cE '\*\*\*Skipped|Not Run \(Disabled\)' "$log")
failed=$(grep -cE 'Test +#[0-9]+: .*(\*\*\*Failed|\*\*\*Exception|\*\*\*Timeout|Not Run[^(]*$)' "$log")
if grep -q '\*\*\*Skipped' "$log"; then
  echo "skipped (see each test's message, e.g. no GPU on this machine):"
  grep -E '\*\*\*Skipped' "$log" | sed -E 's/.*Test +#[0-9]+: ([^ ]+).*/  \1/'
fi
rm -f "$log"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$rc" -eq 0 ] && [ "$failed" -eq 0 ]
