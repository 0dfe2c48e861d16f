// Small builders shared by the convolution tests (tests/test_conv.cpp,
// tests/test_conv_dnnl.cpp): Conv2dArgs from strides/pads/dilations and the kernel-level
// ConvGeom of an input and weight shape.
#pragma once
#include "kernels/conv2d.h"
#include "nn/functional.h"

namespace dr::test {

inline Conv2dArgs conv_args(int sh, int sw, int ph, int pw, int dh = 1, int dw = 1,
                            int groups = 1) {
  Conv2dArgs a;
  a.stride_h = sh, a.stride_w = sw, a.pad_h = ph, a.pad_w = pw;
  a.dilation_h = dh, a.dilation_w = dw, a.groups = groups;
  return a;
}

// x (N, C, H, W), w (O, C / groups, KH, KW).
inline kern::ConvGeom conv_geom(const Shape& x, const Shape& w, const Conv2dArgs& a) {
  kern::ConvGeom g;
  g.N = x[0], g.C = x[1], g.H = x[2], g.W = x[3], g.O = w[0], g.KH = w[2], g.KW = w[3];
  g.sh = a.stride_h, g.sw = a.stride_w, g.ph = a.pad_h, g.pw = a.pad_w;
  g.dh = a.dilation_h, g.dw = a.dilation_w, g.groups = a.groups;
  g.OH = kern::conv_out_size(g.H, g.KH, g.sh, g.ph, g.dh);
  g.OW = kern::conv_out_size(g.W, g.KW, g.sw, g.pw, g.dw);
  return g;
}

}  // namespace dr::test
