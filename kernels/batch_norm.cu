// CUDA launches for batch norm; the arithmetic is in kernels/batch_norm.cuh.
// Per-channel reductions: one block per channel, each thread accumulating a strided
// share in double, then cub::BlockReduce. The statistics are two-pass (the block first
// reduces the mean, then the squared deviations from it), as on the CPU.
#include <cub/block/block_reduce.cuh>

#include "kernels/batch_norm.cuh"
#include "kernels/batch_norm.h"
#include "kernels/cuda_check.h"
#include "kernels/launch.cuh"

namespace dr::kern {

namespace {

constexpr int kReduceThreads = 512;
using BlockSum = cub::BlockReduce<double, kReduceThreads>;

// Element j of channel c, j in [0, N*HW). Index is uint32_t when N*HW fits (the usual
// case): 64-bit division is emulated on the GPU and would dominate the loop.
template <class Index>
__device__ __forceinline__ int64_t channel_index(Index j, int64_t c, int64_t C, Index HW) {
  return (int64_t(j / HW) * C + c) * int64_t(HW) + int64_t(j % HW);
}

template <class Index>
__global__ void __launch_bounds__(kReduceThreads)
    bn_stats_kernel(float* mean, float* var, const float* x, Index count, int64_t C, Index HW) {
  __shared__ typename BlockSum::TempStorage tmp;
  __shared__ double mean_shared;
  const int64_t c = blockIdx.x;
  double s = 0;
  for (Index j = threadIdx.x; j < count; j += blockDim.x) s += x[channel_index(j, c, C, HW)];
  double total = BlockSum(tmp).Sum(s);
  if (threadIdx.x == 0) mean_shared = total / double(count);
  __syncthreads();  // also makes tmp reusable
  const double m = mean_shared;
  double sq = 0;
  for (Index j = threadIdx.x; j < count; j += blockDim.x) {
    double d = x[channel_index(j, c, C, HW)] - m;
    sq += d * d;
  }
  double total_sq = BlockSum(tmp).Sum(sq);
  if (threadIdx.x == 0) {
    mean[c] = float(m);
    var[c] = float(total_sq / double(count));
  }
}

__global__ void bn_coeffs_kernel(float* invstd, float* scale, float* shift, float* running_mean,
                                 float* running_var, const float* mean, const float* var,
                                 const float* w, const float* b, float eps, float momentum,
                                 int64_t count, int64_t C) {
  DR_GRID_LOOP(c, C) {
    invstd[c] = bn_invstd<float>(var[c], eps);
    bn_coeffs<float>(&scale[c], &shift[c], mean[c], invstd[c], w, b, c);
    if (running_mean) {
      float unbiased = var[c] * float(count) / float(count - 1);
      running_mean[c] = bn_running<float>(running_mean[c], mean[c], momentum);
      running_var[c] = bn_running<float>(running_var[c], unbiased, momentum);
    }
  }
}

__global__ void bn_affine_kernel(float* y, const float* x, const float* scale, const float* shift,
                                 int64_t C, int64_t HW, int64_t n) {
  DR_GRID_LOOP(i, n) {
    const int64_t c = (i / HW) % C;
    y[i] = bn_apply<float>(x[i], scale[c], shift[c]);
  }
}

template <class Index>
__global__ void __launch_bounds__(kReduceThreads)
    bn_backward_reduce_kernel(float* sum_dy, float* sum_dy_xhat, const float* dy, const float* x,
                              const float* mean, const float* invstd, Index count, int64_t C,
                              Index HW) {
  __shared__ typename BlockSum::TempStorage tmp;
  const int64_t c = blockIdx.x;
  const float m = mean[c], is = invstd[c];
  double s = 0, sx = 0;
  for (Index j = threadIdx.x; j < count; j += blockDim.x) {
    const int64_t i = channel_index(j, c, C, HW);
    s += dy[i];
    sx += double(dy[i]) * ((x[i] - m) * is);
  }
  double total = BlockSum(tmp).Sum(s);
  __syncthreads();
  double total_x = BlockSum(tmp).Sum(sx);
  if (threadIdx.x == 0) {
    sum_dy[c] = float(total);
    sum_dy_xhat[c] = float(total_x);
  }
}

__global__ void bn_backward_dx_train_kernel(float* dx, const float* dy, const float* x,
                                            const float* mean, const float* invstd,
                                            const float* w, const float* sum_dy,
                                            const float* sum_dy_xhat, int64_t C, int64_t HW,
                                            int64_t n) {
  const float count = float(n / C);
  DR_GRID_LOOP(i, n) {
    const int64_t c = (i / HW) % C;
    dx[i] += bn_train_dx<float>(dy[i], x[i], mean[c], invstd[c], w ? w[c] : 1.f,
                                sum_dy[c] / count, sum_dy_xhat[c] / count);
  }
}

__global__ void bn_backward_dx_affine_kernel(float* dx, const float* dy, const float* scale,
                                             int64_t C, int64_t HW, int64_t n) {
  DR_GRID_LOOP(i, n) dx[i] += dy[i] * scale[(i / HW) % C];
}

// Room for j + blockDim.x without wrapping.
bool fits_u32(int64_t count) { return count < (int64_t(1) << 31); }

}  // namespace

void bn_stats_cuda(float* mean, float* var, const float* x, int64_t N, int64_t C, int64_t HW,
                   cudaStream_t s) {
  if (C == 0) return;
  if (fits_u32(N * HW))
    bn_stats_kernel<uint32_t><<<unsigned(C), kReduceThreads, 0, s>>>(
        mean, var, x, uint32_t(N * HW), C, uint32_t(HW));
  else
    bn_stats_kernel<int64_t><<<unsigned(C), kReduceThreads, 0, s>>>(mean, var, x, N * HW, C, HW);
  CUDA_CHECK_LAUNCH(s);
}

void bn_coeffs_cuda(float* invstd, float* scale, float* shift, float* running_mean,
                    float* running_var, const float* mean, const float* var, const float* w,
                    const float* b, double eps, double momentum, int64_t count, int64_t C,
                    cudaStream_t s) {
  if (C == 0) return;
  bn_coeffs_kernel<<<blocks_for(C), kThreads, 0, s>>>(invstd, scale, shift, running_mean,
                                                      running_var, mean, var, w, b, float(eps),
                                                      float(momentum), count, C);
  CUDA_CHECK_LAUNCH(s);
}

void bn_affine_cuda(float* y, const float* x, const float* scale, const float* shift, int64_t N,
                    int64_t C, int64_t HW, cudaStream_t s) {
  const int64_t n = N * C * HW;
  if (n == 0) return;
  bn_affine_kernel<<<blocks_for(n), kThreads, 0, s>>>(y, x, scale, shift, C, HW, n);
  CUDA_CHECK_LAUNCH(s);
}

void bn_backward_reduce_cuda(float* sum_dy, float* sum_dy_xhat, const float* dy, const float* x,
                             const float* mean, const float* invstd, int64_t N, int64_t C,
                             int64_t HW, cudaStream_t s) {
  if (C == 0) return;
  if (fits_u32(N * HW))
    bn_backward_reduce_kernel<uint32_t><<<unsigned(C), kReduceThreads, 0, s>>>(
        sum_dy, sum_dy_xhat, dy, x, mean, invstd, uint32_t(N * HW), C, uint32_t(HW));
  else
    bn_backward_reduce_kernel<int64_t><<<unsigned(C), kReduceThreads, 0, s>>>(
        sum_dy, sum_dy_xhat, dy, x, mean, invstd, N * HW, C, HW);
  CUDA_CHECK_LAUNCH(s);
}

void bn_backward_dx_train_cuda(float* dx, const float* dy, const float* x, const float* mean,
                               const float* invstd, const float* w, const float* sum_dy,
                               const float* sum_dy_xhat, int64_t N, int64_t C, int64_t HW,
                               cudaStream_t s) {
  const int64_t n = N * C * HW;
  if (n == 0) return;
  bn_backward_dx_train_kernel<<<blocks_for(n), kThreads, 0, s>>>(dx, dy, x, mean, invstd, w,
                                                                 sum_dy, sum_dy_xhat, C, HW, n);
  CUDA_CHECK_LAUNCH(s);
}

void bn_backward_dx_affine_cuda(float* dx, const float* dy, const float* scale, int64_t N,
                                int64_t C, int64_t HW, cudaStream_t s) {
  const int64_t n = N * C * HW;
  if (n == 0) return;
  bn_backward_dx_affine_kernel<<<blocks_for(n), kThreads, 0, s>>>(dx, dy, scale, C, HW, n);
  CUDA_CHECK_LAUNCH(s);
}

}  // namespace dr::kern
