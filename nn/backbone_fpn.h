// BackboneWithFPN: torchvision models/detection/backbone_utils.py (resnet_fpn_backbone /
// _resnet_fpn_extractor): a ResNet body returning layer1..layer4 ("body"), and an FPN
// of 256 channels with LastLevelMaxPool ("fpn"), optionally wrapped with the residual
// blocks (nn/res_fpn.h). The detector registers it as "backbone", so names read
// "backbone.body.layer1.0.conv1.weight", "backbone.fpn.inner_blocks.0.0.weight".
#pragma once
#include <memory>
#include <string>

#include "nn/fpn.h"
#include "nn/res_fpn.h"
#include "nn/resnet.h"

namespace dr {

struct BackboneOptions {
  std::string resnet = "resnet50";     // see resnet_spec()
  NormKind body_norm = NormKind::FrozenBatchNorm;  // v1: FrozenBatchNorm2d; v2: BatchNorm2d
  double frozen_bn_eps = 1e-5;
  bool fpn_norm = false;   // v2: FPN convs followed by BatchNorm2d
  bool res_fpn = false;    // residual block after FPN levels "0".."3"
  int trainable_layers = 3;  // 0..5, torchvision's trainable_backbone_layers
  int64_t out_channels = 256;
};

class BackboneWithFPN : public Module {
 public:
  BackboneWithFPN(Context& ctx, const BackboneOptions& o);
  // images (N, 3, H, W), already normalized and padded -> {"0","1","2","3","pool"}
  // each (N, 256, ceil-ish H/4 .. H/64, ...).
  FeatureMaps forward(Context& ctx, const Tensor& images);
  // The plain FPN (inside the wrapper when res_fpn is on).
  FeaturePyramidNetwork& fpn();
  const BackboneOptions& options() const { return opt_; }
  int64_t out_channels() const { return opt_.out_channels; }

  ResNetBody body;

 private:
  BackboneOptions opt_;
  std::unique_ptr<FeaturePyramidNetwork> plain_fpn_;  // registered as "fpn" without res_fpn
  std::unique_ptr<ResidualFPN> res_fpn_;              // registered as "fpn" with res_fpn
};

}  // namespace dr
