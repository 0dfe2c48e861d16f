// Per-output math of max pooling (torch.nn.functional.max_pool2d, floor mode, no
// dilation), shared by the CPU loops and the CUDA kernels. Mirrors torch's CPU kernel
// (aten/src/ATen/native/cpu/MaxPoolKernel.cpp):
//  - padding is implicit -inf: the window is clipped to the image, never read outside;
//  - scan order is row-major inside the window (ih outer, iw inner) and a value replaces
//    the running maximum only if it is strictly greater, or NaN. So among equal maxima
//    the FIRST in scan order wins, and a NaN propagates (the last NaN is the argmax);
//  - the argmax is the index inside the (H, W) plane, ih * W + iw (torch's indices).
#pragma once
#include <limits>

#include "kernels/hd.cuh"

namespace dr::kern {

// Floor-mode output size, torch's pooling_output_shape without dilation/ceil; <= 0 when
// the padded input is smaller than the window.
HD int64_t pool_out_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad) {
  int64_t span = in + 2 * pad - kernel;
  int64_t q = span >= 0 ? span / stride : -((-span + stride - 1) / stride);  // floor
  return q + 1;
}

// One output of one (H, W) plane. arg may be null (no backward needed).
template <class T>
HD void maxpool_window(T* out, int64_t* arg, const T* plane, int64_t H, int64_t W, int64_t oh,
                       int64_t ow, int kernel, int stride, int pad) {
  int64_t h0 = oh * stride - pad, w0 = ow * stride - pad;
  const int64_t h1 = h0 + kernel < H ? h0 + kernel : H;
  const int64_t w1 = w0 + kernel < W ? w0 + kernel : W;
  if (h0 < 0) h0 = 0;
  if (w0 < 0) w0 = 0;
  T best = -std::numeric_limits<T>::infinity();
  int64_t best_i = h0 * W + w0;
  for (int64_t ih = h0; ih < h1; ++ih)
    for (int64_t iw = w0; iw < w1; ++iw) {
      const T v = plane[ih * W + iw];
      if (v > best || v != v) {
        best = v;
        best_i = ih * W + iw;
      }
    }
  *out = best;
  if (arg) *arg = best_i;
}

// Gradient of one input element (ih, iw): the sum of dy over the outputs whose argmax is
// this element, gathered in output order (the order torch's CPU scatter adds them), so
// CPU and CUDA agree exactly and no atomics are needed.
template <class T>
HD T maxpool_input_grad(const T* dy_plane, const int64_t* arg_plane, int64_t OH, int64_t OW,
                        int64_t W, int64_t ih, int64_t iw, int kernel, int stride, int pad) {
  // Outputs covering ih: oh*stride - pad <= ih <= oh*stride - pad + kernel - 1.
  const int64_t oh0 = ih + pad < kernel ? 0 : (ih + pad - kernel) / stride + 1;
  const int64_t ow0 = iw + pad < kernel ? 0 : (iw + pad - kernel) / stride + 1;
  const int64_t oh1 = (ih + pad) / stride + 1 < OH ? (ih + pad) / stride + 1 : OH;
  const int64_t ow1 = (iw + pad) / stride + 1 < OW ? (iw + pad) / stride + 1 : OW;
  const int64_t self = ih * W + iw;
  T g = T(0);
  for (int64_t oh = oh0; oh < oh1; ++oh)
    for (int64_t ow = ow0; ow < ow1; ++ow)
      if (arg_plane[oh * OW + ow] == self) g += dy_plane[oh * OW + ow];
  return g;
}

}  // namespace dr::kern
