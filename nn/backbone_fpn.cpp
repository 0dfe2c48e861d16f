#include "nn/backbone_fpn.h"

namespace dr {

BackboneWithFPN::BackboneWithFPN(Context& ctx, const BackboneOptions& o)
    : body(ctx, resnet_spec(o.resnet), o.body_norm, o.frozen_bn_eps), opt_(o) {
  register_module("body", body);
  body.set_stage_root();  // ParamTags::stage "<prefix>.body" vs "<prefix>.fpn"
  // Freezing happens before the FPN exists, as in _resnet_fpn_extractor: it only
  // touches the body's parameters.
  body.freeze(o.trainable_layers);
  const std::vector<int64_t> in = body.out_channels();
  if (o.res_fpn) {
    res_fpn_ = std::make_unique<ResidualFPN>(ctx, in, o.out_channels, o.fpn_norm);
    register_module("fpn", *res_fpn_);
    res_fpn_->set_stage_root();
  } else {
    plain_fpn_ = std::make_unique<FeaturePyramidNetwork>(ctx, in, o.out_channels, o.fpn_norm);
    register_module("fpn", *plain_fpn_);
    plain_fpn_->set_stage_root();
  }
}

FeaturePyramidNetwork& BackboneWithFPN::fpn() { return res_fpn_ ? res_fpn_->fpn : *plain_fpn_; }

FeatureMaps BackboneWithFPN::forward(Context& ctx, const Tensor& images) {
  std::vector<Tensor> feats = body.forward(ctx, images);
  return res_fpn_ ? res_fpn_->forward(ctx, feats) : plain_fpn_->forward(ctx, feats);
}

}  // namespace dr
