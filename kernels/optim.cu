#include "kernels/cuda_check.h"
#include "kernels/launch.cuh"
#include "kernels/optim.cuh"
#include "kernels/optim.h"

namespace dr::kern {

namespace {

__global__ void sgd_step_kernel(float* p, float* buf, const float* g, int64_t n,
                                SgdCoeffs<float> c) {
  DR_GRID_LOOP(i, n) {
    float unused = 0;
    float& b = buf ? buf[i] : unused;
    p[i] = sgd_elem(p[i], b, g[i], c);
  }
}

__global__ void adam_step_kernel(float* p, float* m, float* v, const float* g, int64_t n,
                                 AdamCoeffs<float> c) {
  DR_GRID_LOOP(i, n) p[i] = adam_elem(p[i], m[i], v[i], g[i], c);
}

constexpr int kNormThreads = 256;

// Grid (kNormBlocks, num): block b of tensor t sums the squares of elements
// b*256 + tid, stepping by kNormBlocks*256, then a fixed shared-memory tree.
// partials[t * kNormBlocks + b] <- that block's sum.
__global__ void sum_squares_kernel(double* partials, const float* const* ptrs,
                                   const int64_t* sizes) {
  __shared__ double red[kNormThreads];
  const int64_t t = blockIdx.y;
  const float* x = ptrs[t];
  const int64_t n = sizes[t];
  double s = 0;
  for (int64_t i = blockIdx.x * (int64_t)kNormThreads + threadIdx.x; i < n;
       i += (int64_t)kNormBlocks * kNormThreads)
    s += double(x[i]) * double(x[i]);
  red[threadIdx.x] = s;
  __syncthreads();
  for (int w = kNormThreads / 2; w > 0; w /= 2) {
    if (threadIdx.x < w) red[threadIdx.x] += red[threadIdx.x + w];
    __syncthreads();
  }
  if (threadIdx.x == 0) partials[t * kNormBlocks + blockIdx.x] = red[0];
}

// One block: thread j turns tensor t = j, j + 256, ... into its norm (rounded to float as
// torch's per-tensor norm) and stores norm^2 in partials[t * kNormBlocks]; thread 0 then
// sums those in tensor order. out[0] = total, out[1] = clip coefficient.
__global__ void norm_total_kernel(float* out, double* partials, int64_t num, float max_norm) {
  for (int64_t t = threadIdx.x; t < num; t += blockDim.x) {
    double s = 0;
    for (int b = 0; b < kNormBlocks; ++b) s += partials[t * kNormBlocks + b];
    const double nt = norm_from_sumsq<float>(s);
    partials[t * kNormBlocks] = nt * nt;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    double s = 0;
    for (int64_t t = 0; t < num; ++t) s += partials[t * kNormBlocks];
    const float total = norm_from_sumsq<float>(s);
    out[0] = total;
    out[1] = clip_coef(total, max_norm);
  }
}

// Grid (blocks, num): grid-stride over tensor blockIdx.y.
__global__ void clip_scale_kernel(float* const* ptrs, const int64_t* sizes, const float* coef) {
  const float c = *coef;
  if (c >= 1.0f) return;  // clip_apply would leave every element as it is
  float* x = ptrs[blockIdx.y];
  const int64_t n = sizes[blockIdx.y];
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)blockDim.x * gridDim.x)
    x[i] = clip_apply(x[i], c);
}

}  // namespace

void sgd_step_cuda(float* p, float* buf, const float* g, int64_t n, const SgdCoeffs<float>& c,
                   cudaStream_t s) {
  if (n == 0) return;
  sgd_step_kernel<<<blocks_for(n), kThreads, 0, s>>>(p, buf, g, n, c);
  CUDA_CHECK_LAUNCH(s);
}

void adam_step_cuda(float* p, float* m, float* v, const float* g, int64_t n,
                    const AdamCoeffs<float>& c, cudaStream_t s) {
  if (n == 0) return;
  adam_step_kernel<<<blocks_for(n), kThreads, 0, s>>>(p, m, v, g, n, c);
  CUDA_CHECK_LAUNCH(s);
}

void grad_norm_cuda(float* out, double* partials, const float* const* ptrs,
                    const int64_t* sizes, int64_t num, float max_norm, cudaStream_t s) {
  DR_CHECK(num > 0 && num <= 65535, "grad_norm_cuda: " << num << " tensors (1..65535 per launch)");
  sum_squares_kernel<<<dim3(kNormBlocks, (unsigned)num), kNormThreads, 0, s>>>(partials, ptrs,
                                                                               sizes);
  CUDA_CHECK_LAUNCH(s);
  norm_total_kernel<<<1, kNormThreads, 0, s>>>(out, partials, num, max_norm);
  CUDA_CHECK_LAUNCH(s);
}

void clip_scale_cuda(float* const* ptrs, const int64_t* sizes, int64_t num, const float* coef,
                     cudaStream_t s) {
  DR_CHECK(num > 0 && num <= 65535, "clip_scale_cuda: " << num << " tensors (1..65535 per launch)");
  clip_scale_kernel<<<dim3(64, (unsigned)num), kThreads, 0, s>>>(ptrs, sizes, coef);
  CUDA_CHECK_LAUNCH(s);
}

}  // namespace dr::kern
