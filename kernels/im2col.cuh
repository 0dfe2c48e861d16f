// Convolution geometry and the per-element im2col / col2im index math, shared by the
// CPU loops (kernels/conv2d_cpu.cpp) and any CUDA im2col. Mirrors the output-size and
// sampling rule of torch.nn.functional.conv2d (cross-correlation, zero padding):
//   out = (in + 2*pad - dilation*(k-1) - 1) / stride + 1
//   input coordinate read by output o through tap k: o*stride - pad + k*dilation.
//
// Column matrix of one image and one group: (Cg*KH*KW, OH*OW) row-major with row stride
// ld (ld > OH*OW when several images share one matrix side by side):
//   row r = (c*KH + kh)*KW + kw, column q = oh*OW + ow.
#pragma once
#include "kernels/hd.cuh"

namespace dr::kern {

struct ConvGeom {
  int64_t N = 0, C = 0, H = 0, W = 0;  // input (N, C, H, W)
  int64_t O = 0, KH = 1, KW = 1;       // weight (O, C/groups, KH, KW)
  int64_t OH = 0, OW = 0;              // output (N, O, OH, OW)
  int sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1, groups = 1;

  HD int64_t Cg() const { return C / groups; }      // input channels per group
  HD int64_t Og() const { return O / groups; }      // output channels per group
  HD int64_t Kc() const { return Cg() * KH * KW; }  // column-matrix rows
  HD int64_t P() const { return OH * OW; }          // output pixels per image
  // 1x1, stride 1, no padding: the image itself is the column matrix.
  HD bool pointwise() const {
    return KH == 1 && KW == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0;
  }
};

HD int64_t conv_out_size(int64_t in, int64_t k, int stride, int pad, int dil) {
  return (in + 2 * pad - dil * (k - 1) - 1) / stride + 1;
}

// Input coordinate read by output coordinate o through kernel tap k.
HD int64_t conv_in_coord(int64_t o, int64_t k, int stride, int pad, int dil) {
  return o * stride - pad + k * dil;
}

HD int64_t floor_div(int64_t a, int64_t b) {  // b > 0
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

// The outputs o in [*lo, *hi) whose tap k reads inside [0, in); empty when *lo == *hi.
HD void conv_valid_range(int64_t k, int64_t in, int64_t out, int stride, int pad, int dil,
                         int64_t* lo, int64_t* hi) {
  int64_t first = pad - k * dil;  // o*stride >= first
  int64_t a = first <= 0 ? 0 : (first + stride - 1) / stride;
  int64_t b = floor_div(in - 1 + pad - k * dil, stride) + 1;
  if (a > out) a = out;
  if (b > out) b = out;
  if (b < a) b = a;
  *lo = a;
  *hi = b;
}

// im2col element (r, q) for one image x (Cg, H, W) of a group: the input value that
// column-matrix row r and column q read, 0 in the padding.
template <class T> HD T im2col_value(const T* x, const ConvGeom& g, int64_t r, int64_t q) {
  int64_t kw = r % g.KW, kh = (r / g.KW) % g.KH, c = r / (g.KW * g.KH);
  int64_t ow = q % g.OW, oh = q / g.OW;
  int64_t ih = conv_in_coord(oh, kh, g.sh, g.ph, g.dh);
  int64_t iw = conv_in_coord(ow, kw, g.sw, g.pw, g.dw);
  if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) return T(0);
  return x[(c * g.H + ih) * g.W + iw];
}

// col2im element: the sum of every column-matrix entry that read input pixel (c, ih, iw)
// of one image (the adjoint of im2col, as a gather so that each input pixel is written
// by exactly one thread). col has row stride ld.
template <class T>
HD T col2im_value(const T* col, int64_t ld, const ConvGeom& g, int64_t c, int64_t ih, int64_t iw) {
  T sum = T(0);
  for (int64_t kh = 0; kh < g.KH; ++kh) {
    int64_t th = ih + g.ph - kh * g.dh;  // = oh * sh
    if (th < 0 || th % g.sh != 0) continue;
    int64_t oh = th / g.sh;
    if (oh >= g.OH) continue;
    for (int64_t kw = 0; kw < g.KW; ++kw) {
      int64_t tw = iw + g.pw - kw * g.dw;
      if (tw < 0 || tw % g.sw != 0) continue;
      int64_t ow = tw / g.sw;
      if (ow >= g.OW) continue;
      sum += col[((c * g.KH + kh) * g.KW + kw) * ld + oh * g.OW + ow];
    }
  }
  return sum;
}

}  // namespace dr::kern
