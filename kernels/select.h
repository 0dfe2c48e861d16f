// Launchers for the detection glue ops (kernels/select.cuh). Forward outputs are
// overwritten; *_backward functions ADD into dx (+=).
#pragma once
#include <cstdint>
#if DR_CUDA
#include <cuda_runtime.h>
#endif

namespace dr::kern {

// out (N, H*W*A, C) <- x (N, A*C, H, W)
template <class T>
void permute_flatten_cpu(T* out, const T* x, int64_t n, int64_t a, int64_t c, int64_t h, int64_t w);
// out (B, K, D) <- x (B, R, D) rows idx (B, K) (each in [0, R)) per batch entry b
template <class T>
void gather_rows_cpu(T* out, const T* x, const int64_t* idx, int64_t b, int64_t r, int64_t k,
                     int64_t d);
// dx (N, A*C, H, W) += dy (N, H*W*A, C) laid back out
template <class T>
void permute_flatten_backward_cpu(T* dx, const T* dy, int64_t n, int64_t a, int64_t c, int64_t h,
                                  int64_t w);
// dx (B, R, D) += dy (B, K, D) scattered to rows idx (B, K)
template <class T>
void gather_rows_backward_cpu(T* dx, const T* dy, const int64_t* idx, int64_t b, int64_t r,
                              int64_t k, int64_t d);
template <class T> void sigmoid_cpu(T* y, const T* x, int64_t n);
// Row-wise softmax of (rows, cols), max-subtracted as torch.softmax.
template <class T> void softmax_rows_cpu(T* y, const T* x, int64_t rows, int64_t cols);
// flags[i] = x[i] > thr (or >= when inclusive) and column (i % cols) >= first_col
template <class T>
void score_flags_cpu(uint8_t* flags, const T* x, int64_t n, int64_t cols, int64_t first_col, T thr,
                     bool inclusive);
// out[i] = idx[i] % m (flat (row, class) index -> class label)
void index_mod_cpu(int64_t* out, const int64_t* idx, int64_t n, int64_t m);
// x (rows, cols): columns [0, ncols) of every row set to value, in place
template <class T> void fill_columns_cpu(T* x, int64_t rows, int64_t cols, int64_t ncols, T value);

#if DR_CUDA
void permute_flatten_cuda(float* out, const float* x, int64_t n, int64_t a, int64_t c, int64_t h,
                          int64_t w, cudaStream_t s);
void gather_rows_cuda(float* out, const float* x, const int64_t* idx, int64_t b, int64_t r,
                      int64_t k, int64_t d, cudaStream_t s);
void gather_rows_i64_cuda(int64_t* out, const int64_t* x, const int64_t* idx, int64_t b, int64_t r,
                          int64_t k, int64_t d, cudaStream_t s);
void permute_flatten_backward_cuda(float* dx, const float* dy, int64_t n, int64_t a, int64_t c,
                                   int64_t h, int64_t w, cudaStream_t s);
// atomicAdd: repeated indices make the summation order (not the set of terms) vary.
void gather_rows_backward_cuda(float* dx, const float* dy, const int64_t* idx, int64_t b,
                               int64_t r, int64_t k, int64_t d, cudaStream_t s);
void sigmoid_cuda(float* y, const float* x, int64_t n, cudaStream_t s);
void softmax_rows_cuda(float* y, const float* x, int64_t rows, int64_t cols, cudaStream_t s);
void score_flags_cuda(uint8_t* flags, const float* x, int64_t n, int64_t cols, int64_t first_col,
                      float thr, bool inclusive, cudaStream_t s);
void index_mod_cuda(int64_t* out, const int64_t* idx, int64_t n, int64_t m, cudaStream_t s);
void fill_columns_cuda(float* x, int64_t rows, int64_t cols, int64_t ncols, float value,
                       cudaStream_t s);
#endif

}  // namespace dr::kern
