// ModelConfig: what a model is (v1/v2 architecture, backbone, residual FPN, classes,
// frozen stages, input sizes). It travels in the flat weight file's JSON header under
// meta["config"], so a weight file says which model it belongs to; tools/tv_models.py
// builds the matching torchvision model from the same JSON.
//
// JSON (every key optional on read; defaults below):
//   {"arch": "v1", "backbone": "resnet50", "res_fpn": false, "num_classes": 91,
//    "trainable_layers": 3, "frozen_bn_eps": 1e-5, "min_size": 800, "max_size": 1333}
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nn/backbone_fpn.h"

namespace dr {

struct ModelConfig {
  // "v1": fasterrcnn_resnet50_fpn (FrozenBatchNorm2d body, plain FPN, TwoMLPHead);
  // "v2": fasterrcnn_resnet50_fpn_v2 (BatchNorm2d body, FPN with BatchNorm2d, conv heads).
  std::string arch = "v1";
  // resnet18, resnet34, resnet50, resnet101, resnext50_32x4d, resnext101_32x8d.
  std::string backbone = "resnet50";
  bool res_fpn = false;  // a residual block after each FPN level "0".."3"
  int num_classes = 91;  // COCO's 91 including background; 11 for digits 0-9 + background
  // torchvision's trainable_backbone_layers: 0..5 stages trainable counted from layer4.
  int trainable_layers = 3;
  // FrozenBatchNorm2d eps (v1 body). torchvision's COCO_V1 weights run with 0.0
  // (faster_rcnn.py calls overwrite_eps(model, 0.0)); everything else with 1e-5.
  double frozen_bn_eps = 1e-5;
  // GeneralizedRCNNTransform sizes (torchvision defaults).
  int min_size = 800;
  int max_size = 1333;
  // Detection settings (torchvision FasterRCNN keyword defaults). Anchors: one size list
  // and one aspect-ratio list per FPN level ("0".."3", "pool"); every level must have the
  // same number of anchors per location (the RPN head is shared). Digits are small:
  // `dataset --anchors` suggests sizes for a data set.
  std::vector<std::vector<double>> anchor_sizes = {{32}, {64}, {128}, {256}, {512}};
  std::vector<std::vector<double>> aspect_ratios = {
      {0.5, 1.0, 2.0}, {0.5, 1.0, 2.0}, {0.5, 1.0, 2.0}, {0.5, 1.0, 2.0}, {0.5, 1.0, 2.0}};
  int rpn_pre_nms_top_n_test = 1000;
  int rpn_post_nms_top_n_test = 1000;
  double box_score_thresh = 0.05;
  double box_nms_thresh = 0.5;
  int box_detections_per_img = 100;
  // Training settings, torchvision FasterRCNN's keyword names and defaults. A digit recipe
  // samples fewer anchors/RoIs and keeps fewer proposals: the RoI head's cost is linear
  // in box_batch_size_per_image.
  int rpn_pre_nms_top_n_train = 2000;
  int rpn_post_nms_top_n_train = 2000;
  double rpn_nms_thresh = 0.7;
  double rpn_fg_iou_thresh = 0.7;
  double rpn_bg_iou_thresh = 0.3;
  int rpn_batch_size_per_image = 256;
  double rpn_positive_fraction = 0.5;
  double box_fg_iou_thresh = 0.5;
  double box_bg_iou_thresh = 0.5;
  int box_batch_size_per_image = 512;
  double box_positive_fraction = 0.25;
  // The body's norm layer: "" follows the arch (v1 FrozenBatchNorm2d, v2 BatchNorm2d);
  // "batch" gives v1 a trainable BatchNorm2d body, which is what torchvision itself builds
  // for v1 without pretrained weights (FrozenBatchNorm2d with default buffers is the
  // identity, so a v1 body trained from scratch would have no normalization at all).
  std::string body_norm;

  // Throws dr::Error naming the bad field.
  void validate() const;
  nlohmann::json to_json() const;
  // Unknown keys are kept out (ignored) so later fields do not break old readers.
  static ModelConfig from_json(const nlohmann::json& j);
  // What the backbone needs: body norm kind, FPN norm, residual FPN, frozen stages.
  BackboneOptions backbone_options() const;
};

}  // namespace dr
