// Per-element math of torch.nn.functional.interpolate for mode="nearest" and
// mode="bilinear" (align_corners=False) when an output size is given, shared by the CPU
// loops and the CUDA kernels. Index rules from aten/src/ATen/native/UpSample.h (torch 1.13):
//
//  nearest (legacy, not "nearest-exact"): scale = float(in) / float(out), computed in
//    float32 whatever the tensor dtype (compute_scales_value<float>, as the CUDA kernel and
//    the backward use), src = min(floor(dst * scale), in - 1).
//
//  bilinear: scale = T(in) / T(out) (area_pixel_compute_scale without align_corners),
//    real = scale * (dst + 0.5) - 0.5 clamped below at 0 (area_pixel_compute_source_index),
//    i0 = min(floor(real), in - 1), i1 = i0 + (i0 < in - 1), l1 = clamp(real - i0, 0, 1),
//    l0 = 1 - l1 (guard_index_and_lambda). torch's CPU kernel evaluates real and l1 in its
//    accumulation type, double, from the float scale, and only then rounds l1 to T: probing
//    torch 1.13 with unit impulses shows exactly these weights (with real in float, 17 -> 40
//    rows gives l1 = 0.0625 where torch has 0.06250027). The value is nested as torch's CPU
//    kernel does, height outermost: (x00*lw0 + x01*lw1)*lh0 + (x10*lw0 + x11*lw1)*lh1.
//    (torch's CUDA kernel computes real in float; we follow the CPU, the reference.)
//
// With interpolate(scale_factor=s, recompute_scale_factor=True) (torchvision's
// GeneralizedRCNNTransform), torch first computes out = floor(in * s) in Python double
// precision and then calls the kernel with the size only, so the kernel's scale is in/out:
// call resize_bilinear(floor(H * s), floor(W * s)).
#pragma once
#include <cmath>

#include "kernels/hd.cuh"

namespace dr::kern {

HD int64_t nearest_src_index(int64_t dst, int64_t in, int64_t out) {
  const float scale = float(in) / float(out);
  const int64_t s = static_cast<int64_t>(floorf(float(dst) * scale));
  return s < in - 1 ? s : in - 1;
}

// [*begin, *end): the output indices whose nearest source is src (the rule is monotone).
// The estimate src*out/in is within one step of the float rule's first index; starting two
// below keeps the scan short (about out/in + 3 steps) and exact.
HD void nearest_dst_range(int64_t src, int64_t in, int64_t out, int64_t* begin, int64_t* end) {
  int64_t lo = static_cast<int64_t>(double(src) * double(out) / double(in)) - 2;
  if (lo < 0) lo = 0;
  while (lo < out && nearest_src_index(lo, in, out) < src) ++lo;
  int64_t hi = lo;
  while (hi < out && nearest_src_index(hi, in, out) == src) ++hi;
  *begin = lo;
  *end = hi;
}

// Gradient of one input element: dy summed over its output block, in output order (the
// order torch's CPU backward scatter-adds), so CPU and CUDA agree exactly without atomics.
template <class T>
HD T nearest_input_grad(const T* dy_plane, int64_t H, int64_t W, int64_t OH, int64_t OW,
                        int64_t ih, int64_t iw) {
  int64_t h0, h1, w0, w1;
  nearest_dst_range(ih, H, OH, &h0, &h1);
  nearest_dst_range(iw, W, OW, &w0, &w1);
  T g = T(0);
  for (int64_t oh = h0; oh < h1; ++oh)
    for (int64_t ow = w0; ow < w1; ++ow) g += dy_plane[oh * OW + ow];
  return g;
}

struct LinearTap {
  int64_t i0, i1;
};

template <class T>
HD LinearTap linear_src(int64_t dst, int64_t in, int64_t out, T* l0, T* l1) {
  const double scale = T(in) / T(out);  // the scale in T, then widened (see above)
  double real = scale * (double(dst) + 0.5) - 0.5;
  if (real < 0.0) real = 0.0;
  int64_t i = static_cast<int64_t>(floor(real));
  if (i > in - 1) i = in - 1;
  double lam = real - double(i);
  lam = lam < 0.0 ? 0.0 : (lam > 1.0 ? 1.0 : lam);
  *l1 = T(lam);
  *l0 = T(1) - *l1;
  return {i, i + (i < in - 1 ? 1 : 0)};
}

// One output element (oh, ow) of one (H, W) plane.
template <class T>
HD T bilinear_at(const T* plane, int64_t H, int64_t W, int64_t OH, int64_t OW, int64_t oh,
                 int64_t ow) {
  T lh0, lh1, lw0, lw1;
  const LinearTap h = linear_src<T>(oh, H, OH, &lh0, &lh1);
  const LinearTap w = linear_src<T>(ow, W, OW, &lw0, &lw1);
  const T* r0 = plane + h.i0 * W;
  const T* r1 = plane + h.i1 * W;
  T t0 = r0[w.i0] * lw0;
  t0 += r0[w.i1] * lw1;
  T t1 = r1[w.i0] * lw0;
  t1 += r1[w.i1] * lw1;
  T v = t0 * lh0;
  v += t1 * lh1;
  return v;
}

}  // namespace dr::kern
