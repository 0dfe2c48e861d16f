// The residual block after the FPN (this project's seed design; not in torchvision).
// One block per FPN level "0".."3"; "pool" stays the FPN's own max-pooled P5:
//   y = relu(bn2(conv2(relu(bn1(conv1(x))))) + x), conv = 3x3, padding 1, with bias.
// Names are those of a torchvision model whose backbone.fpn was replaced by a wrapper
// holding the original FPN as `fpn` and a `res_blocks` ModuleList of four Sequentials
// of one block each (tools/tv_models.py builds exactly that):
//   fpn.inner_blocks.0.0.weight ... res_blocks.0.0.conv1.weight, res_blocks.0.0.bn1.running_mean
#pragma once
#include "nn/fpn.h"
#include "nn/layers/batch_norm.h"

namespace dr {

class ResidualBlock : public Module {
 public:
  // torch default init: Conv2d kaiming_uniform(a=sqrt(5)) + default bias, BN 1/0.
  ResidualBlock(Context& ctx, int64_t channels);
  Tensor forward(Context& ctx, const Tensor& x);  // (N, C, H, W) -> (N, C, H, W)
  Conv2d conv1;
  BatchNorm2d bn1;
  Conv2d conv2;
  BatchNorm2d bn2;
};

class ResidualFPN : public Module {
 public:
  ResidualFPN(Context& ctx, const std::vector<int64_t>& in_channels, int64_t out_channels,
              bool norm);
  // Same levels as the FPN; "0".."3" pass through their residual block.
  FeatureMaps forward(Context& ctx, const std::vector<Tensor>& feats);
  FeaturePyramidNetwork fpn;
  ModuleList res_blocks;  // of ModuleList holding one ResidualBlock at "0"
};

}  // namespace dr
