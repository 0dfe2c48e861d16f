// CUDA launches for nearest upsampling and bilinear resizing; math in kernels/resample.cuh.
// One thread per output (forward) or per input element (nearest backward: a gather over
// the input's output block, deterministic and free of atomics).
#include "kernels/cuda_check.h"
#include "kernels/launch.cuh"
#include "kernels/resample.cuh"
#include "kernels/resample.h"

namespace dr::kern {

namespace {

__global__ void upsample_nearest_forward_kernel(float* y, const float* x, int64_t H, int64_t W,
                                                int64_t OH, int64_t OW, int64_t n) {
  DR_GRID_LOOP(o, n) {
    const int64_t ow = o % OW, oh = (o / OW) % OH, p = o / (OW * OH);
    y[o] = x[(p * H + nearest_src_index(oh, H, OH)) * W + nearest_src_index(ow, W, OW)];
  }
}

__global__ void upsample_nearest_backward_kernel(float* dx, const float* dy, int64_t H, int64_t W,
                                                 int64_t OH, int64_t OW, int64_t n) {
  DR_GRID_LOOP(i, n) {
    const int64_t iw = i % W, ih = (i / W) % H, p = i / (W * H);
    dx[i] += nearest_input_grad<float>(dy + p * OH * OW, H, W, OH, OW, ih, iw);
  }
}

__global__ void resize_bilinear_kernel(float* y, const float* x, int64_t H, int64_t W, int64_t OH,
                                       int64_t OW, int64_t n) {
  DR_GRID_LOOP(o, n) {
    const int64_t ow = o % OW, oh = (o / OW) % OH, p = o / (OW * OH);
    y[o] = bilinear_at<float>(x + p * H * W, H, W, OH, OW, oh, ow);
  }
}

}  // namespace

void upsample_nearest_forward_cuda(float* y, const float* x, int64_t NC, int64_t H, int64_t W,
                                   int64_t OH, int64_t OW, cudaStream_t s) {
  const int64_t n = NC * OH * OW;
  if (n == 0) return;
  upsample_nearest_forward_kernel<<<blocks_for(n), kThreads, 0, s>>>(y, x, H, W, OH, OW, n);
  CUDA_CHECK_LAUNCH(s);
}

void upsample_nearest_backward_cuda(float* dx, const float* dy, int64_t NC, int64_t H, int64_t W,
                                    int64_t OH, int64_t OW, cudaStream_t s) {
  const int64_t n = NC * H * W;
  if (n == 0) return;
  upsample_nearest_backward_kernel<<<blocks_for(n), kThreads, 0, s>>>(dx, dy, H, W, OH, OW, n);
  CUDA_CHECK_LAUNCH(s);
}

void resize_bilinear_cuda(float* y, const float* x, int64_t NC, int64_t H, int64_t W, int64_t OH,
                          int64_t OW, cudaStream_t s) {
  const int64_t n = NC * OH * OW;
  if (n == 0) return;
  resize_bilinear_kernel<<<blocks_for(n), kThreads, 0, s>>>(y, x, H, W, OH, OW, n);
  CUDA_CHECK_LAUNCH(s);
}

}  // namespace dr::kern
