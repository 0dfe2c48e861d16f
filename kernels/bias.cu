#include "kernels/bias.cuh"
#include "kernels/bias.h"
#include "kernels/cuda_check.h"
#include "kernels/launch.cuh"

namespace dr::kern {

__global__ void bias_add_kernel(float* y, const float* b, int64_t n, int64_t C, int64_t inner) {
  DR_GRID_LOOP(i, n) y[i] += b[bias_channel(i, C, inner)];
}

// One block per channel: a block-strided partial sum per thread, then a shared-memory
// tree, so the result does not depend on the grid size.
__global__ void bias_grad_kernel(float* db, const float* dy, int64_t outer, int64_t C,
                                 int64_t inner) {
  __shared__ float part[kThreads];
  const int64_t c = blockIdx.x, m = outer * inner;
  float s = 0.0f;
  for (int64_t j = threadIdx.x; j < m; j += blockDim.x) s += dy[bias_element(c, j, C, inner)];
  part[threadIdx.x] = s;
  __syncthreads();
  for (int w = blockDim.x / 2; w > 0; w /= 2) {
    if (threadIdx.x < w) part[threadIdx.x] += part[threadIdx.x + w];
    __syncthreads();
  }
  if (threadIdx.x == 0) db[c] += part[0];
}

void bias_add_cuda(float* y, const float* b, int64_t outer, int64_t C, int64_t inner,
                   cudaStream_t s) {
  int64_t n = outer * C * inner;
  if (n == 0) return;
  bias_add_kernel<<<blocks_for(n), kThreads, 0, s>>>(y, b, n, C, inner);
  CUDA_CHECK_LAUNCH(s);
}

void bias_grad_cuda(float* db, const float* dy, int64_t outer, int64_t C, int64_t inner,
                    cudaStream_t s) {
  if (C == 0 || outer * inner == 0) return;
  bias_grad_kernel<<<static_cast<unsigned>(C), kThreads, 0, s>>>(db, dy, outer, C, inner);
  CUDA_CHECK_LAUNCH(s);
}

}  // namespace dr::kern
