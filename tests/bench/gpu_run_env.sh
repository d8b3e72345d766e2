# Sourced by the one-call GPU-host scripts (cuda_engine_run.sh, tp_run.sh, tp_ep_run.sh): the libraries that travel
# with the build in $B/lib, NCCL from python's nvidia/nccl namespace package, NVLink multicast off, the demo model and
# test data from this checkout, the GPU named in $OUT/gpu.txt, and `step NAME SECONDS CMD...` (one bounded step,
# its log under $OUT). Expects B and OUT to be set.
mkdir -p "$OUT"
NCCL_LIB=$(python3 -c 'import nvidia.nccl;print(list(nvidia.nccl.__path__)[0])' 2>/dev/null)/lib
export LD_LIBRARY_PATH=$PWD/$B/lib:$NCCL_LIB:${LD_LIBRARY_PATH:-}
export NCCL_NVLS_ENABLE=0 M1_DEMO_MODEL=$PWD/resources/demo M1_TEST_DATA=$PWD/tests/data PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
git log -1 --format=%h 2>/dev/null | tee -a "$OUT/gpu.txt"
start=$SECONDS
step() {
  local name=$1 secs=$2; shift 2
  echo "=== $name (at $((SECONDS - start)) s)"
  timeout "$secs" "$@" >"$OUT/$name.log" 2>&1
  echo "=== $name rc=$? ($((SECONDS - start)) s)"
  return 0
}
