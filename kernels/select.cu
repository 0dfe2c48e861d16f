#include <cfloat>

#include "kernels/cuda_check.h"
#include "kernels/launch.cuh"
#include "kernels/select.cuh"
#include "kernels/select.h"

namespace dr::kern {

__global__ void permute_flatten_kernel(float* out, const float* x, int64_t total, int64_t a,
                                       int64_t c, int64_t h, int64_t w) {
  DR_GRID_LOOP(o, total) out[o] = x[permute_flatten_src(o, a, c, h, w)];
}

template <class T>
__global__ void gather_rows_kernel(T* out, const T* x, const int64_t* idx, int64_t total,
                                   int64_t r, int64_t k, int64_t d) {
  DR_GRID_LOOP(o, total) out[o] = x[gather_rows_src(o, idx, r, k, d)];
}

__global__ void permute_flatten_backward_kernel(float* dx, const float* dy, int64_t total,
                                                int64_t a, int64_t c, int64_t h, int64_t w) {
  DR_GRID_LOOP(o, total) dx[permute_flatten_src(o, a, c, h, w)] += dy[o];
}

__global__ void gather_rows_backward_kernel(float* dx, const float* dy, const int64_t* idx,
                                            int64_t total, int64_t r, int64_t k, int64_t d) {
  DR_GRID_LOOP(o, total) atomicAdd(dx + gather_rows_src(o, idx, r, k, d), dy[o]);
}

__global__ void sigmoid_kernel(float* y, const float* x, int64_t n) {
  DR_GRID_LOOP(i, n) y[i] = sigmoid_elem(x[i]);
}

// One thread per row: class counts are small (11 for digits, 91 for COCO).
__global__ void softmax_rows_kernel(float* y, const float* x, int64_t rows, int64_t cols) {
  DR_GRID_LOOP(r, rows) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float m = -FLT_MAX;
    for (int64_t j = 0; j < cols; ++j) m = fmaxf(m, xr[j]);
    float s = 0;
    for (int64_t j = 0; j < cols; ++j) s += (yr[j] = expf(xr[j] - m));
    for (int64_t j = 0; j < cols; ++j) yr[j] /= s;
  }
}

__global__ void score_flags_kernel(uint8_t* flags, const float* x, int64_t n, int64_t cols,
                                   int64_t first_col, float thr, bool inclusive) {
  DR_GRID_LOOP(i, n) flags[i] = (i % cols) >= first_col && (inclusive ? x[i] >= thr : x[i] > thr);
}

__global__ void index_mod_kernel(int64_t* out, const int64_t* idx, int64_t n, int64_t m) {
  DR_GRID_LOOP(i, n) out[i] = idx[i] % m;
}

__global__ void fill_columns_kernel(float* x, int64_t total, int64_t cols, int64_t ncols,
                                    float value) {
  DR_GRID_LOOP(o, total) x[(o / ncols) * cols + o % ncols] = value;  // o over (rows, ncols)
}

void permute_flatten_cuda(float* out, const float* x, int64_t n, int64_t a, int64_t c, int64_t h,
                          int64_t w, cudaStream_t s) {
  int64_t total = n * a * c * h * w;
  if (total == 0) return;
  permute_flatten_kernel<<<blocks_for(total), kThreads, 0, s>>>(out, x, total, a, c, h, w);
  CUDA_CHECK_LAUNCH(s);
}

void gather_rows_cuda(float* out, const float* x, const int64_t* idx, int64_t b, int64_t r,
                      int64_t k, int64_t d, cudaStream_t s) {
  int64_t total = b * k * d;
  if (total == 0) return;
  gather_rows_kernel<float><<<blocks_for(total), kThreads, 0, s>>>(out, x, idx, total, r, k, d);
  CUDA_CHECK_LAUNCH(s);
}

void gather_rows_i64_cuda(int64_t* out, const int64_t* x, const int64_t* idx, int64_t b, int64_t r,
                          int64_t k, int64_t d, cudaStream_t s) {
  int64_t total = b * k * d;
  if (total == 0) return;
  gather_rows_kernel<int64_t><<<blocks_for(total), kThreads, 0, s>>>(out, x, idx, total, r, k, d);
  CUDA_CHECK_LAUNCH(s);
}

void permute_flatten_backward_cuda(float* dx, const float* dy, int64_t n, int64_t a, int64_t c,
                                   int64_t h, int64_t w, cudaStream_t s) {
  int64_t total = n * a * c * h * w;
  if (total == 0) return;
  permute_flatten_backward_kernel<<<blocks_for(total), kThreads, 0, s>>>(dx, dy, total, a, c, h, w);
  CUDA_CHECK_LAUNCH(s);
}

void gather_rows_backward_cuda(float* dx, const float* dy, const int64_t* idx, int64_t b,
                               int64_t r, int64_t k, int64_t d, cudaStream_t s) {
  int64_t total = b * k * d;
  if (total == 0) return;
  gather_rows_backward_kernel<<<blocks_for(total), kThreads, 0, s>>>(dx, dy, idx, total, r, k, d);
  CUDA_CHECK_LAUNCH(s);
}

void sigmoid_cuda(float* y, const float* x, int64_t n, cudaStream_t s) {
  if (n == 0) return;
  sigmoid_kernel<<<blocks_for(n), kThreads, 0, s>>>(y, x, n);
  CUDA_CHECK_LAUNCH(s);
}

void softmax_rows_cuda(float* y, const float* x, int64_t rows, int64_t cols, cudaStream_t s) {
  if (rows == 0) return;
  softmax_rows_kernel<<<blocks_for(rows), kThreads, 0, s>>>(y, x, rows, cols);
  CUDA_CHECK_LAUNCH(s);
}

void score_flags_cuda(uint8_t* flags, const float* x, int64_t n, int64_t cols, int64_t first_col,
                      float thr, bool inclusive, cudaStream_t s) {
  if (n == 0) return;
  score_flags_kernel<<<blocks_for(n), kThreads, 0, s>>>(flags, x, n, cols, first_col, thr, inclusive);
  CUDA_CHECK_LAUNCH(s);
}

void index_mod_cuda(int64_t* out, const int64_t* idx, int64_t n, int64_t m, cudaStream_t s) {
  if (n == 0) return;
  index_mod_kernel<<<blocks_for(n), kThreads, 0, s>>>(out, idx, n, m);
  CUDA_CHECK_LAUNCH(s);
}

void fill_columns_cuda(float* x, int64_t rows, int64_t cols, int64_t ncols, float value,
                       cudaStream_t s) {
  const int64_t total = rows * ncols;
  if (total == 0) return;
  fill_columns_kernel<<<blocks_for(total), kThreads, 0, s>>>(x, total, cols, ncols, value);
  CUDA_CHECK_LAUNCH(s);
}

}  // namespace dr::kern
