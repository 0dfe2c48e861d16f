#include "nn/layers/conv2d.h"

#include <cmath>

#include "nn/init.h"

namespace dr {

Conv2d::Conv2d(Context& ctx, const Conv2dOptions& o) : opt_(o) {
  DR_CHECK(o.in_channels > 0 && o.out_channels > 0 && o.groups > 0 &&
               o.in_channels % o.groups == 0 && o.out_channels % o.groups == 0,
           "Conv2d: in_channels " << o.in_channels << " and out_channels " << o.out_channels
                                  << " must be positive multiples of groups " << o.groups);
  weight = ctx.empty({o.out_channels, o.in_channels / o.groups, o.kernel, o.kernel}, o.dtype);
  init::kaiming_uniform(ctx, weight, std::sqrt(5.0));
  register_parameter("weight", weight);
  if (o.bias) {
    bias = ctx.empty({o.out_channels}, o.dtype);
    init::default_bias(ctx, bias, weight);
    register_parameter("bias", bias, true, bias_tags());
  }
}

Conv2dArgs Conv2d::args() const {
  Conv2dArgs a;
  a.stride_h = a.stride_w = opt_.stride;
  a.pad_h = a.pad_w = opt_.padding;
  a.dilation_h = a.dilation_w = opt_.dilation;
  a.groups = opt_.groups;
  return a;
}

Tensor Conv2d::forward(Context& ctx, const Tensor& x) const {
  return conv2d(ctx, x, weight, bias, args());
}

}  // namespace dr
