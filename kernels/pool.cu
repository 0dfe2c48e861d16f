// CUDA launches for max pooling; the arithmetic is in kernels/pool.cuh. One thread per
// output (forward) and per input element (backward, a gather: no atomics, deterministic).
#include "kernels/cuda_check.h"
#include "kernels/launch.cuh"
#include "kernels/pool.cuh"
#include "kernels/pool.h"

namespace dr::kern {

namespace {

__global__ void maxpool2d_forward_kernel(float* y, int64_t* argmax, const float* x, int64_t H,
                                         int64_t W, int64_t OH, int64_t OW, int kernel,
                                         int stride, int pad, int64_t n) {
  DR_GRID_LOOP(o, n) {
    const int64_t ow = o % OW, oh = (o / OW) % OH, p = o / (OW * OH);
    maxpool_window<float>(y + o, argmax ? argmax + o : nullptr, x + p * H * W, H, W, oh, ow,
                          kernel, stride, pad);
  }
}

__global__ void maxpool2d_backward_kernel(float* dx, const float* dy, const int64_t* argmax,
                                          int64_t H, int64_t W, int64_t OH, int64_t OW,
                                          int kernel, int stride, int pad, int64_t n) {
  DR_GRID_LOOP(i, n) {
    const int64_t iw = i % W, ih = (i / W) % H, p = i / (W * H);
    dx[i] += maxpool_input_grad<float>(dy + p * OH * OW, argmax + p * OH * OW, OH, OW, W, ih, iw,
                                       kernel, stride, pad);
  }
}

}  // namespace

void maxpool2d_forward_cuda(float* y, int64_t* argmax, const float* x, int64_t NC, int64_t H,
                            int64_t W, int64_t OH, int64_t OW, int kernel, int stride, int pad,
                            cudaStream_t s) {
  const int64_t n = NC * OH * OW;
  if (n == 0) return;
  maxpool2d_forward_kernel<<<blocks_for(n), kThreads, 0, s>>>(y, argmax, x, H, W, OH, OW, kernel,
                                                              stride, pad, n);
  CUDA_CHECK_LAUNCH(s);
}

void maxpool2d_backward_cuda(float* dx, const float* dy, const int64_t* argmax, int64_t NC,
                             int64_t H, int64_t W, int64_t OH, int64_t OW, int kernel, int stride,
                             int pad, cudaStream_t s) {
  const int64_t n = NC * H * W;
  if (n == 0) return;
  maxpool2d_backward_kernel<<<blocks_for(n), kThreads, 0, s>>>(dx, dy, argmax, H, W, OH, OW,
                                                               kernel, stride, pad, n);
  CUDA_CHECK_LAUNCH(s);
}

}  // namespace dr::kern
