// Non-finite count on CUDA: each thread counts its grid-stride share, a block adds its
// threads' counts in shared memory, and one integer atomicAdd per block adds that to the
// total (integer addition: the total does not depend on the order).
#include "kernels/cuda_check.h"
#include "kernels/finite.cuh"
#include "kernels/finite.h"
#include "kernels/launch.cuh"

namespace dr::kern {

namespace {

__global__ void count_nonfinite_kernel(unsigned long long* count, const float* x, int64_t n) {
  __shared__ unsigned long long part[kThreads];
  unsigned long long c = 0;
  DR_GRID_LOOP(i, n) c += is_nonfinite(x[i]) ? 1 : 0;
  part[threadIdx.x] = c;
  __syncthreads();
  for (int w = kThreads / 2; w > 0; w /= 2) {
    if (threadIdx.x < w) part[threadIdx.x] += part[threadIdx.x + w];
    __syncthreads();
  }
  if (threadIdx.x == 0 && part[0]) atomicAdd(count, part[0]);
}

}  // namespace

void count_nonfinite_cuda(unsigned long long* count, const float* x, int64_t n, cudaStream_t s) {
  if (n == 0) return;
  count_nonfinite_kernel<<<blocks_for(n), kThreads, 0, s>>>(count, x, n);
  CUDA_CHECK_LAUNCH(s);
}

}  // namespace dr::kern
