// A small persistent thread pool for the CPU backend's loops over heads, rows and tokens.
// BLAS calls stay on the calling thread (OpenBLAS has its own threads); the pool runs our own loops.
#pragma once
#include <cstdint>
#include <functional>

namespace m1 {

// Runs fn(begin, end) over [0, n) split into contiguous ranges, one per thread; returns when all are
// done. Nested calls run inline. Exceptions from fn are rethrown on the calling thread.
void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn);
void set_num_threads(int n);  // 0: hardware threads
int num_threads();

}  // namespace m1
