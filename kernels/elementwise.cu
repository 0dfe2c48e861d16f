#include "kernels/cuda_check.h"
#include "kernels/elementwise.cuh"
#include "kernels/elementwise.h"
#include "kernels/launch.cuh"

namespace dr::kern {

__global__ void relu_forward_kernel(float* y, const float* x, int64_t n) {
  DR_GRID_LOOP(i, n) y[i] = relu_fwd(x[i]);
}
__global__ void relu_backward_kernel(float* dx, const float* dy, const float* y, int64_t n) {
  DR_GRID_LOOP(i, n) dx[i] += relu_bwd(dy[i], y[i]);
}
__global__ void add_kernel(float* out, const float* a, const float* b, int64_t n) {
  DR_GRID_LOOP(i, n) out[i] = a[i] + b[i];
}
__global__ void accumulate_kernel(float* dst, const float* src, float alpha, int64_t n) {
  DR_GRID_LOOP(i, n) dst[i] += alpha * src[i];
}

void relu_forward_cuda(float* y, const float* x, int64_t n, cudaStream_t s) {
  if (n == 0) return;
  relu_forward_kernel<<<blocks_for(n), kThreads, 0, s>>>(y, x, n);
  CUDA_CHECK_LAUNCH(s);
}
void relu_backward_cuda(float* dx, const float* dy, const float* y, int64_t n, cudaStream_t s) {
  if (n == 0) return;
  relu_backward_kernel<<<blocks_for(n), kThreads, 0, s>>>(dx, dy, y, n);
  CUDA_CHECK_LAUNCH(s);
}
void add_cuda(float* out, const float* a, const float* b, int64_t n, cudaStream_t s) {
  if (n == 0) return;
  add_kernel<<<blocks_for(n), kThreads, 0, s>>>(out, a, b, n);
  CUDA_CHECK_LAUNCH(s);
}
void accumulate_cuda(float* dst, const float* src, float alpha, int64_t n, cudaStream_t s) {
  if (n == 0) return;
  accumulate_kernel<<<blocks_for(n), kThreads, 0, s>>>(dst, src, alpha, n);
  CUDA_CHECK_LAUNCH(s);
}

}  // namespace dr::kern
