#include <algorithm>
#include <cmath>

#include "kernels/select.cuh"
#include "kernels/select.h"

namespace dr::kern {

template <class T>
void permute_flatten_cpu(T* out, const T* x, int64_t n, int64_t a, int64_t c, int64_t h, int64_t w) {
  const int64_t total = n * a * c * h * w;
  for (int64_t o = 0; o < total; ++o) out[o] = x[permute_flatten_src(o, a, c, h, w)];
}

template <class T>
void gather_rows_cpu(T* out, const T* x, const int64_t* idx, int64_t b, int64_t r, int64_t k,
                     int64_t d) {
  for (int64_t bi = 0; bi < b; ++bi)
    for (int64_t ki = 0; ki < k; ++ki) {
      const T* src = x + (bi * r + idx[bi * k + ki]) * d;
      std::copy(src, src + d, out + (bi * k + ki) * d);
    }
}

template <class T>
void permute_flatten_backward_cpu(T* dx, const T* dy, int64_t n, int64_t a, int64_t c, int64_t h,
                                  int64_t w) {
  const int64_t total = n * a * c * h * w;
  for (int64_t o = 0; o < total; ++o) dx[permute_flatten_src(o, a, c, h, w)] += dy[o];
}

template <class T>
void gather_rows_backward_cpu(T* dx, const T* dy, const int64_t* idx, int64_t b, int64_t r,
                              int64_t k, int64_t d) {
  const int64_t total = b * k * d;
  for (int64_t o = 0; o < total; ++o) dx[gather_rows_src(o, idx, r, k, d)] += dy[o];
}

template <class T> void sigmoid_cpu(T* y, const T* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = sigmoid_elem(x[i]);
}

template <class T> void softmax_rows_cpu(T* y, const T* x, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * cols;
    T* yr = y + r * cols;
    T m = xr[0];
    for (int64_t j = 1; j < cols; ++j) m = std::max(m, xr[j]);
    T s = 0;
    for (int64_t j = 0; j < cols; ++j) s += (yr[j] = std::exp(xr[j] - m));
    for (int64_t j = 0; j < cols; ++j) yr[j] /= s;
  }
}

template <class T>
void score_flags_cpu(uint8_t* flags, const T* x, int64_t n, int64_t cols, int64_t first_col, T thr,
                     bool inclusive) {
  for (int64_t i = 0; i < n; ++i)
    flags[i] = (i % cols) >= first_col && (inclusive ? x[i] >= thr : x[i] > thr);
}

void index_mod_cpu(int64_t* out, const int64_t* idx, int64_t n, int64_t m) {
  for (int64_t i = 0; i < n; ++i) out[i] = idx[i] % m;
}

template <class T> void fill_columns_cpu(T* x, int64_t rows, int64_t cols, int64_t ncols, T value) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < ncols; ++j) x[r * cols + j] = value;
}

#define DR_INST(T)                                                                               \
  template void permute_flatten_cpu<T>(T*, const T*, int64_t, int64_t, int64_t, int64_t, int64_t); \
  template void gather_rows_cpu<T>(T*, const T*, const int64_t*, int64_t, int64_t, int64_t,      \
                                   int64_t);                                                     \
  template void permute_flatten_backward_cpu<T>(T*, const T*, int64_t, int64_t, int64_t, int64_t, \
                                                int64_t);                                        \
  template void gather_rows_backward_cpu<T>(T*, const T*, const int64_t*, int64_t, int64_t,      \
                                            int64_t, int64_t);                                   \
  template void sigmoid_cpu<T>(T*, const T*, int64_t);                                           \
  template void softmax_rows_cpu<T>(T*, const T*, int64_t, int64_t);                             \
  template void score_flags_cpu<T>(uint8_t*, const T*, int64_t, int64_t, int64_t, T, bool);      \
  template void fill_columns_cpu<T>(T*, int64_t, int64_t, int64_t, T);
DR_INST(float)
DR_INST(double)
#undef DR_INST
template void gather_rows_cpu<int64_t>(int64_t*, const int64_t*, const int64_t*, int64_t, int64_t,
                                       int64_t, int64_t);

}  // namespace dr::kern
