// CUDA launches for the losses (kernels/loss.h); the arithmetic is in kernels/loss.cuh.
// Forward sums: one block of kSumThreads threads, thread i adding terms i, i + kSumThreads,
// ... in double, then a fixed shared-memory tree: no atomics, so the bits do not change from
// run to run, and the result does not depend on the device's SM count.
#include <math_constants.h>

#include "kernels/cuda_check.h"
#include "kernels/launch.cuh"
#include "kernels/loss.cuh"
#include "kernels/loss.h"

namespace dr::kern {

namespace {

constexpr int kSumThreads = 512;

// out[0] = float(sum_{i < n} term(i) / divisor)
template <class Term>
__global__ void __launch_bounds__(kSumThreads)
    sum_terms_kernel(float* out, Term term, int64_t n, double divisor) {
  __shared__ double part[kSumThreads];
  double s = 0;
  for (int64_t i = threadIdx.x; i < n; i += kSumThreads) s += double(term(i));
  part[threadIdx.x] = s;
  __syncthreads();
  for (int w = kSumThreads / 2; w > 0; w /= 2) {
    if (threadIdx.x < w) part[threadIdx.x] += part[threadIdx.x + w];
    __syncthreads();
  }
  if (threadIdx.x == 0) out[0] = float(part[0] / divisor);
}

// Launched even for n == 0: the output must still be written (NaN for an empty mean).
template <class Term>
void sum_terms(float* out, Term term, int64_t n, double divisor, cudaStream_t s) {
  sum_terms_kernel<<<1, kSumThreads, 0, s>>>(out, term, n, divisor);
  CUDA_CHECK_LAUNCH(s);
}

struct BceTerm {
  const float *x, *t;
  __device__ float operator()(int64_t i) const { return bce_logits_term(x[i], t[i]); }
};

struct SmoothL1Term {
  const float *x, *y;
  float beta;
  __device__ float operator()(int64_t i) const { return smooth_l1_term(x[i], y[i], beta); }
};

struct CrossEntropyTerm {
  const float* x;
  const int64_t* labels;
  int64_t c;
  __device__ float operator()(int64_t r) const {
    const int64_t l = labels[r];
    if (l < 0 || l >= c) return CUDART_NAN_F;  // reported by the finite check (kernels/loss.h)
    return cross_entropy_row(x + r * c, c, l);
  }
};

__global__ void bce_logits_backward_kernel(float* dx, const float* gout, const float* x,
                                           const float* t, int64_t n) {
  const float g = gout[0];
  DR_GRID_LOOP(i, n) dx[i] += bce_logits_grad(x[i], t[i], g, float(n));
}

__global__ void smooth_l1_backward_kernel(float* dx, const float* gout, const float* x,
                                          const float* y, int64_t n, float beta, float divisor) {
  const float g = gout[0] / divisor;
  DR_GRID_LOOP(i, n) dx[i] += smooth_l1_grad(x[i], y[i], beta, g);
}

// One thread per row: class counts are small (11 for digits, 91 for COCO).
__global__ void cross_entropy_backward_kernel(float* dx, const float* gout, const float* x,
                                              const int64_t* labels, int64_t k, int64_t c) {
  const float g = gout[0];
  DR_GRID_LOOP(r, k) {
    const int64_t l = labels[r];
    if (l >= 0 && l < c) cross_entropy_row_grad(dx + r * c, x + r * c, c, l, g, float(k));
  }
}

__global__ void gather_class_boxes_kernel(float* out, const float* x, const int64_t* rows,
                                          const int64_t* classes, int64_t total, int64_t k,
                                          int64_t c) {
  DR_GRID_LOOP(o, total) {
    const int64_t src = class_box_src(o, rows, classes, k, c);
    out[o] = src >= 0 ? x[src] : CUDART_NAN_F;
  }
}

__global__ void gather_class_boxes_backward_kernel(float* dx, const float* dy,
                                                   const int64_t* rows, const int64_t* classes,
                                                   int64_t total, int64_t k, int64_t c) {
  DR_GRID_LOOP(o, total) {
    const int64_t src = class_box_src(o, rows, classes, k, c);
    if (src >= 0) atomicAdd(dx + src, dy[o]);
  }
}

}  // namespace

void bce_logits_forward_cuda(float* out, const float* x, const float* t, int64_t n,
                             cudaStream_t s) {
  sum_terms(out, BceTerm{x, t}, n, double(n), s);
}

void bce_logits_backward_cuda(float* dx, const float* gout, const float* x, const float* t,
                              int64_t n, cudaStream_t s) {
  if (n == 0) return;
  bce_logits_backward_kernel<<<blocks_for(n), kThreads, 0, s>>>(dx, gout, x, t, n);
  CUDA_CHECK_LAUNCH(s);
}

void smooth_l1_forward_cuda(float* out, const float* x, const float* y, int64_t n, float beta,
                            double divisor, cudaStream_t s) {
  sum_terms(out, SmoothL1Term{x, y, beta}, n, divisor, s);
}

void smooth_l1_backward_cuda(float* dx, const float* gout, const float* x, const float* y,
                             int64_t n, float beta, float divisor, cudaStream_t s) {
  if (n == 0) return;
  smooth_l1_backward_kernel<<<blocks_for(n), kThreads, 0, s>>>(dx, gout, x, y, n, beta, divisor);
  CUDA_CHECK_LAUNCH(s);
}

void cross_entropy_forward_cuda(float* out, const float* x, const int64_t* labels, int64_t k,
                                int64_t c, cudaStream_t s) {
  sum_terms(out, CrossEntropyTerm{x, labels, c}, k, double(k), s);
}

void cross_entropy_backward_cuda(float* dx, const float* gout, const float* x,
                                 const int64_t* labels, int64_t k, int64_t c, cudaStream_t s) {
  if (k == 0) return;
  cross_entropy_backward_kernel<<<blocks_for(k), kThreads, 0, s>>>(dx, gout, x, labels, k, c);
  CUDA_CHECK_LAUNCH(s);
}

void gather_class_boxes_cuda(float* out, const float* x, const int64_t* rows,
                             const int64_t* classes, int64_t p, int64_t k, int64_t c,
                             cudaStream_t s) {
  const int64_t total = p * 4;
  if (total == 0) return;
  gather_class_boxes_kernel<<<blocks_for(total), kThreads, 0, s>>>(out, x, rows, classes, total,
                                                                  k, c);
  CUDA_CHECK_LAUNCH(s);
}

void gather_class_boxes_backward_cuda(float* dx, const float* dy, const int64_t* rows,
                                      const int64_t* classes, int64_t p, int64_t k, int64_t c,
                                      cudaStream_t s) {
  const int64_t total = p * 4;
  if (total == 0) return;
  gather_class_boxes_backward_kernel<<<blocks_for(total), kThreads, 0, s>>>(dx, dy, rows, classes,
                                                                           total, k, c);
  CUDA_CHECK_LAUNCH(s);
}

}  // namespace dr::kern
