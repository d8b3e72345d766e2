#!/usr/bin/env bash
# One GPU-host call for storage/resume (issue 6): the CUDA backend's tests (state export/import among them), then
# restore vs re-prefill on the M1-width slice from a plain file and through the SQLite snapshot store. Run from the
# repository root with $1 (default build-restore-run) holding bin.tgz (bin/ and lib/, libsqlite3 included). When bin/
# also holds qt_snapshot_bench (a CPU program), it measures the SQLite snapshot reader against plain file reads on
# this host's disk too (an idle 16-core machine, unlike the shared development VM). Both compare the snapshot
# reader's read-ahead worker counts (0 = the one-connection reader) in the same run. SKIP_BACKEND=1 leaves out the
# backend tests (for a storage-only change), SNAPSHOT_SIZES picks the throughput sizes (default 256M,1G,4G).
set -uo pipefail
B=${1:-build-restore-run}
OUT=${OUT:-out}
tar xzf "$B/bin.tgz" -C "$B"
source "$(dirname "$0")/gpu_run_env.sh"
{ nproc; grep -m1 "model name" /proc/cpuinfo; free -g | head -2; df -hT /tmp | tail -1
  for f in /sys/block/*/queue/read_ahead_kb; do echo "$f $(cat "$f")"; done; } > "$OUT/host.txt" 2>&1
cat "$OUT/host.txt"
if [ "${SKIP_BACKEND:-0}" != 1 ]; then
  step backend 240 "$B/bin/gpu_cuda_backend_test"
  grep -E "^\[  (PASSED|FAILED) |Failure" "$OUT/backend.log"
fi
step restore 360 "$B/bin/qt_state_restore_bench" --dir /tmp --compare-workers 0,1,2,4 --json "$OUT/restore.json"
if ! grep -q "^| 131072" "$OUT/restore.log"; then  # no SQLite there, or it failed: the plain-file bench alone
  cat "$OUT/restore.log" | tail -5
  step restore_plain 300 "$B/bin/state_restore_bench" --dir /tmp --json "$OUT/restore_plain.json"
  cat "$OUT/restore_plain.log"
else
  cat "$OUT/restore.log"
fi
if [ -x "$B/bin/qt_snapshot_bench" ]; then
  step snapshot_io 420 "$B/bin/qt_snapshot_bench" --dir /tmp --sizes "${SNAPSHOT_SIZES:-256M,1G,4G}" --runs 3 \
    --skip-model --compare-workers 0,1,2,4 --json "$OUT/snapshot_io.json"
  cat "$OUT/snapshot_io.log"
fi
