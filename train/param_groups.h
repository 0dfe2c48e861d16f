// Parameter groups for the optimizer, built from a model's trainable parameters:
//  - layer-wise learning rate: parameters under "backbone.body." (the ResNet body) train
//    at backbone_lr_mult x the head's lr; everything else (FPN, RPN, RoI heads) at lr;
//  - optionally no weight decay on norm and bias parameters (torchvision references'
//    --norm-weight-decay 0 / detectron2's WEIGHT_DECAY_NORM = 0 and WEIGHT_DECAY_BIAS = 0).
// Norm and bias come from the tags the layers register their parameters with
// (nn/module.h ParamTags: a BatchNorm2d's weight and bias are `norm`; every conv, linear
// and norm bias is `bias`; FrozenBatchNorm2d has only buffers and is never trained).
#pragma once
#include <string>
#include <vector>

#include "nn/module.h"
#include "train/optimizer.h"

namespace dr::train {

struct ParamGroupSettings {
  double lr = 1e-4;
  double weight_decay = 0;
  double backbone_lr_mult = 1.0;    // lr of "backbone.body." parameters = lr * this
  bool no_decay_norm_bias = false;  // weight_decay 0 for norm weights/biases and all biases
  double momentum = 0.9;            // SGD only (ignored by Adam/AdamW)
};

struct ParamGroups {
  std::vector<std::string> labels;  // "head", "head/no_decay", "backbone", "backbone/no_decay"
  std::vector<ParamGroup> groups;   // empty groups are left out; labels[i] names groups[i]
};

constexpr const char* kBackbonePrefix = "backbone.body.";

// The groups of model's trainable parameters (registration order inside each group).
// Throws when the model has no trainable parameter or a setting is negative.
ParamGroups make_param_groups(const Module& model, const ParamGroupSettings& s);

}  // namespace dr::train
