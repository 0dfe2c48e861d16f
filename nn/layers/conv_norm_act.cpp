#include "nn/layers/conv_norm_act.h"

namespace dr {

Conv2dNormActivation::Conv2dNormActivation(Context& ctx, const ConvNormActOptions& o) : relu(o.relu) {
  Conv2dOptions c;
  c.in_channels = o.in_channels;
  c.out_channels = o.out_channels;
  c.kernel = o.kernel;
  c.stride = o.stride;
  c.padding = o.padding >= 0 ? o.padding : (o.kernel - 1) / 2 * o.dilation;
  c.dilation = o.dilation;
  c.groups = o.groups;
  c.bias = o.norm == NormKind::None;
  c.dtype = o.dtype;
  conv = std::make_unique<Conv2d>(ctx, c);
  register_module("0", *conv);
  if (o.norm == NormKind::BatchNorm) {
    bn = std::make_unique<BatchNorm2d>(ctx, o.out_channels, 1e-5, 0.1, o.dtype);
    register_module("1", *bn);
  } else if (o.norm == NormKind::FrozenBatchNorm) {
    frozen_bn = std::make_unique<FrozenBatchNorm2d>(ctx, o.out_channels, 1e-5, o.dtype);
    register_module("1", *frozen_bn);
  }
}

Tensor Conv2dNormActivation::forward(Context& ctx, const Tensor& x) {
  if (frozen_bn) return conv_norm_act(ctx, *conv, frozen_bn.get(), x, relu);
  return conv_norm_act(ctx, *conv, bn.get(), x, relu);
}

}  // namespace dr
