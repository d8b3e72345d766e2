// state_restore_bench with the SQLite snapshot store beside the plain file: the same program, built again
// under this name because the qt_ benchmarks are the ones that link storage/ (see CMakeLists.txt here).
#if defined(M1_HAVE_CUDA)
#include <cuda_runtime.h>
#define M1_RESTORE_BENCH_SQLITE 1
#endif
#include "bench/state_restore_bench.cpp"
