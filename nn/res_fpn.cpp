#include "nn/res_fpn.h"

namespace dr {

static Conv2dOptions conv3x3_bias(int64_t c) {
  Conv2dOptions o;
  o.in_channels = c;
  o.out_channels = c;
  o.kernel = 3;
  o.padding = 1;
  o.bias = true;
  return o;
}

ResidualBlock::ResidualBlock(Context& ctx, int64_t c)
    : conv1(ctx, conv3x3_bias(c)), bn1(ctx, c), conv2(ctx, conv3x3_bias(c)), bn2(ctx, c) {
  register_module("conv1", conv1);
  register_module("bn1", bn1);
  register_module("conv2", conv2);
  register_module("bn2", bn2);
}

Tensor ResidualBlock::forward(Context& ctx, const Tensor& x) {
  Tensor h = conv_norm_act(ctx, conv1, &bn1, x, /*relu=*/true);
  return conv_norm_act(ctx, conv2, &bn2, h, /*relu=*/true, x);
}

ResidualFPN::ResidualFPN(Context& ctx, const std::vector<int64_t>& in, int64_t out, bool norm)
    : fpn(ctx, in, out, norm) {
  register_module("fpn", fpn);
  for (size_t i = 0; i < in.size(); ++i)
    res_blocks.emplace<ModuleList>().emplace<ResidualBlock>(ctx, out);
  register_module("res_blocks", res_blocks);
}

FeatureMaps ResidualFPN::forward(Context& ctx, const std::vector<Tensor>& feats) {
  FeatureMaps maps = fpn.forward(ctx, feats);
  // The first res_blocks.size() levels are "0".."3"; "pool" (last) was pooled from the
  // FPN's own P5 and is left as is.
  for (size_t i = 0; i < res_blocks.size(); ++i)
    maps[i].second =
        res_blocks.get<ModuleList>(i).get<ResidualBlock>(0).forward(ctx, maps[i].second);
  return maps;
}

}  // namespace dr
