// What nn/ops/conv2d.cpp shares with the fused convolution (nn/ops/conv2d_fused.cpp): the
// checked geometry, the CPU implementation choice, and the backward of one convolution.
// Internal to nn/ops.
#pragma once
#include "kernels/conv2d.h"
#include "nn/functional.h"

namespace dr::conv_internal {

// Checks x (N, C, H, W), w (O, C/groups, KH, KW), b (O) or undefined and the arguments;
// errors name conv2d and the shapes.
kern::ConvGeom conv_geom(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dArgs& a);

// True when a CPU conv of this dtype runs through oneDNN (f32 and the context says so).
bool use_dnnl(Context& ctx, DType dtype);

#if DR_DNNL
// The context's oneDNN convolutions, set to its choice of algorithms.
kern::DnnlConv& dnnl_conv(Context& ctx);
#endif

// dx, dw, db: gradient buffers (+=) or undefined when not wanted; dy (N, O, OH, OW).
// fresh_dx / fresh_dw: that buffer was created (zero-filled) for this call, so oneDNN may
// write it instead of adding to it.
void conv2d_backward(Context& ctx, const Tensor& dx, const Tensor& dw, const Tensor& db,
                     const Tensor& dy, const Tensor& x, const Tensor& w, const kern::ConvGeom& g,
                     bool fresh_dx, bool fresh_dw);

}  // namespace dr::conv_internal
