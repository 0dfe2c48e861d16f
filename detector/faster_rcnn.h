// FasterRCNN: torchvision 0.14 models/detection/faster_rcnn.py + generalized_rcnn.py,
// inference path: transform -> backbone (ResNet body + FPN [+ residual blocks]) -> RPN
// -> RoIHeads -> boxes mapped back to each original image. Built from a ModelConfig:
//   v1 = fasterrcnn_resnet50_fpn: FrozenBN body, plain FPN, 1-conv RPN head, TwoMLPHead
//   v2 = fasterrcnn_resnet50_fpn_v2: BN body, FPN with BN, 2-conv RPN head,
//        FastRCNNConvFCHead (4 conv+BN+ReLU, FC 1024)
// Member names ("backbone", "rpn", "roi_heads") make named_tensors() equal torchvision's
// state_dict keys.
#pragma once
#include <vector>

#include "detector/model_config.h"
#include "detector/roi_heads.h"
#include "detector/rpn.h"
#include "detector/transform.h"
#include "nn/backbone_fpn.h"

namespace dr {

class FasterRCNN : public Module {
 public:
  FasterRCNN(Context& ctx, const ModelConfig& cfg);

  // Everything one forward computes, for parity tests and debugging.
  struct Trace {
    ImageList images;
    FeatureMaps features;
    RegionProposalNetwork::Output rpn;
    RoIHeads::Output roi;
    std::vector<Detections> detections;  // original image coordinates
  };
  // The one training switch: train(true) puts every batch norm, the RPN's top-n choice
  // and the transform (random min_size, no box rescaling) in training mode; train(false)
  // is eval. Gradient recording follows from it: eval forwards never record, and a
  // training forward records inside a TrainingScope (nn/module.h).
  void train(bool on = true) override;

  // The eval forward. images: (3, H_i, W_i) float in [0, 1] (sizes may differ), on ctx's
  // device. Needs eval mode (throws otherwise) and records nothing whatever ctx's mode.
  Trace forward_trace(Context& ctx, const std::vector<Tensor>& images);
  std::vector<Detections> detect(Context& ctx, const std::vector<Tensor>& images) {
    return forward_trace(ctx, images).detections;
  }

  const ModelConfig& config() const { return cfg_; }

  GeneralizedRCNNTransform transform;
  BackboneWithFPN backbone;
  RegionProposalNetwork rpn;
  RoIHeads roi_heads;

 private:
  ModelConfig cfg_;
};

}  // namespace dr
