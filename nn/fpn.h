// FeaturePyramidNetwork with LastLevelMaxPool: torchvision ops/feature_pyramid_network.py.
// Names: "inner_blocks.<i>.0.weight" (1x1 lateral), "layer_blocks.<i>.0.weight" (3x3
// output); with norm_layer (v2) the convs lose their bias and a BatchNorm2d sits at
// "<block>.<i>.1". Output levels are named "0".."3" plus "pool" (max_pool2d(P5, 1, 2)).
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nn/feature_maps.h"
#include "nn/layers/conv_norm_act.h"

namespace dr {

class FeaturePyramidNetwork : public Module {
 public:
  // in_channels: C2..C5 channel counts; norm: torchvision's norm_layer=BatchNorm2d (v2).
  FeaturePyramidNetwork(Context& ctx, const std::vector<int64_t>& in_channels,
                        int64_t out_channels, bool norm);
  // feats: C2..C5 (N, c_i, H_i, W_i) -> {"0": P2, .., "3": P5, "pool": P6}, all
  // (N, out_channels, H_i, W_i), P6 = max_pool2d(P5, kernel 1, stride 2).
  FeatureMaps forward(Context& ctx, const std::vector<Tensor>& feats);
  int64_t out_channels;
  ModuleList inner_blocks, layer_blocks;  // of Conv2dNormActivation (no activation)
};

}  // namespace dr
