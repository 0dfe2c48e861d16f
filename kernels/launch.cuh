// Launch helpers shared by the .cu files: grid sizing for grid-stride loops.
#pragma once
#include <cstdint>

namespace dr::kern {

constexpr int kThreads = 256;

// Enough blocks to cover n with grid-stride loops, capped so huge tensors reuse threads.
inline unsigned blocks_for(int64_t n, int threads = kThreads) {
  int64_t b = (n + threads - 1) / threads;
  if (b < 1) b = 1;
  if (b > 65535 * 8) b = 65535 * 8;
  return static_cast<unsigned>(b);
}

}  // namespace dr::kern

#if defined(__CUDACC__)
// for (int64_t i : grid-stride range) over [0, n)
#define DR_GRID_LOOP(i, n)                                                   \
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n); \
       i += (int64_t)blockDim.x * gridDim.x)
#endif
