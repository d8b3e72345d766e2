// Declared for backend.cpp, which registers the CUDA backend ("cuda", "cuda:N") on first use.
#pragma once

namespace m1 {
void register_cuda_backend();
}
