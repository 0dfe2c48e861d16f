// ResNet bodies as the detection backbones use them (torchvision models/resnet.py
// wrapped by backbone_utils' IntermediateLayerGetter): conv1, bn1, relu, maxpool,
// layer1..layer4, returning the four stage outputs C2..C5; no avgpool/fc (the getter
// drops them, so they are not in a detector's state_dict).
//
// Names mirror torchvision: "conv1.weight", "layer1.0.conv1.weight",
// "layer1.0.downsample.0.weight", "layer1.0.downsample.1.running_mean", ...
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "nn/layers/conv2d.h"
#include "nn/norm2d.h"

namespace dr {

// The six ResNet variants the detectors support (torchvision's resnet18 .. resnext101_32x8d).
struct ResNetSpec {
  std::string name;
  bool bottleneck;        // Bottleneck (expansion 4) or BasicBlock (expansion 1)
  int layers[4];          // blocks per stage
  int groups;             // grouped 3x3 conv (ResNeXt cardinality)
  int width_per_group;    // ResNeXt base width
  // Channels of C2 (layer1's output); C3..C5 double each stage.
  int64_t stage2_channels() const { return bottleneck ? 256 : 64; }
};
// Throws dr::Error listing the known names for an unknown one.
ResNetSpec resnet_spec(const std::string& name);

// A residual block (BasicBlock or Bottleneck), so a stage can hold either kind.
class ResBlock : public Module {
 public:
  virtual Tensor forward(Context& ctx, const Tensor& x) = 0;  // (N, Cin, H, W) -> (N, Cout, H/s, W/s)
};

// The `downsample` Sequential: conv1x1(stride) "0" and norm "1".
class Downsample : public Module {
 public:
  Downsample(Context& ctx, int64_t in, int64_t out, int stride, NormKind norm, double eps);
  Tensor forward(Context& ctx, const Tensor& x);
  Conv2d conv;  // "0"
  Norm2d bn;    // "1"
};

class BasicBlock : public ResBlock {
 public:
  BasicBlock(Context& ctx, int64_t inplanes, int64_t planes, int stride, bool downsample,
             NormKind norm, double eps);
  Tensor forward(Context& ctx, const Tensor& x) override;
  Conv2d conv1;  // 3x3 stride s, inplanes -> planes
  Norm2d bn1;
  Conv2d conv2;  // 3x3, planes -> planes
  Norm2d bn2;
  std::unique_ptr<Downsample> downsample;  // null when the identity fits
};

class Bottleneck : public ResBlock {
 public:
  // width = planes * (width_per_group / 64) * groups; output planes * 4.
  Bottleneck(Context& ctx, int64_t inplanes, int64_t planes, int stride, bool downsample,
             int groups, int width_per_group, NormKind norm, double eps);
  Tensor forward(Context& ctx, const Tensor& x) override;
  Conv2d conv1;  // 1x1, inplanes -> width
  Norm2d bn1;
  Conv2d conv2;  // 3x3 stride s, groups, width -> width
  Norm2d bn2;
  Conv2d conv3;  // 1x1, width -> planes * 4
  Norm2d bn3;
  std::unique_ptr<Downsample> downsample;
};

class ResNetBody : public Module {
 public:
  // norm: FrozenBatchNorm2d (v1) or BatchNorm2d (v2); frozen_eps for the former.
  ResNetBody(Context& ctx, const ResNetSpec& spec, NormKind norm, double frozen_eps = 1e-5);
  // x (N, 3, H, W) -> {C2 (N, c, H/4, W/4), C3 /8, C4 /16, C5 /32}, c = stage2_channels.
  std::vector<Tensor> forward(Context& ctx, const Tensor& x);
  // torchvision's _resnet_fpn_extractor: parameters outside the last `trainable` stages
  // (counted from layer4; 5 adds conv1 and bn1) stop requiring grad.
  void freeze(int trainable_layers);
  // The four stage output channel counts (the FPN's in_channels_list).
  std::vector<int64_t> out_channels() const;

  ResNetSpec spec;
  Conv2d conv1;  // 7x7 stride 2, 3 -> 64
  Norm2d bn1;
  ModuleList layer1, layer2, layer3, layer4;  // of ResBlock

 private:
  void make_layer(Context& ctx, ModuleList& layer, int64_t planes, int blocks, int stride,
                  NormKind norm, double eps);
  int64_t inplanes_ = 64;
};

}  // namespace dr
