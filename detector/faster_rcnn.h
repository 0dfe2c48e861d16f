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

#include "detector/fastrcnn_loss.h"
#include "detector/model_config.h"
#include "detector/roi_heads.h"
#include "detector/rpn.h"
#include "detector/rpn_loss.h"
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

  // One training forward (generalized_rcnn.py in training mode): everything the four
  // losses were computed from, for parity tests and debugging.
  struct TrainOutput {
    ImageList images;
    std::vector<Target> targets;  // boxes resized with their images
    FeatureMaps features;
    RegionProposalNetwork::Output rpn;
    RPNLoss rpn_loss;
    TrainingSamples samples;      // the RoI heads' sampled proposals and targets
    Tensor class_logits;          // (sum S_i, classes)
    Tensor box_regression;        // (sum S_i, 4 * classes)
    FastRCNNLoss roi_loss;
    // torchvision's loss dict in its order: loss_classifier, loss_box_reg,
    // loss_objectness, loss_rpn_box_reg; each a () scalar.
    std::vector<std::pair<std::string, Tensor>> losses;
    Tensor total;  // their sum, the tape's root
  };
  // images: (3, H_i, W_i) floats in [0, 1]; targets: per image boxes (G_i, 4) in that
  // image's pixels and int64 labels (G_i). The model must be in training mode; records the
  // step on ctx's tape (which must be empty); ctx.backward(out.total) then fills every
  // trainable parameter's gradient. A degenerate box (x2 <= x1 or y2 <= y1) is an error
  // naming the image and the box, as torchvision raises.
  TrainOutput forward_train(Context& ctx, const std::vector<Tensor>& images,
                            const std::vector<Target>& targets);

  const ModelConfig& config() const { return cfg_; }

  GeneralizedRCNNTransform transform;
  BackboneWithFPN backbone;
  RegionProposalNetwork rpn;
  RoIHeads roi_heads;

 private:
  ModelConfig cfg_;
};

}  // namespace dr
