// The SVHN AutoAugment policy (Cubuk et al. 2018, "AutoAugment: Learning Augmentation
// Policies from Data"; torchvision AutoAugmentPolicy.SVHN) restricted to its colour
// operations. The policy's 25 sub-policies are kept as they are; their geometric ops
// (ShearX/Y, TranslateX/Y, Rotate) become identity because torchvision's AutoAugment
// cannot move boxes and RandomAffine already covers geometry. One sub-policy is drawn
// per image; each of its two ops runs with its probability and its magnitude bin
// (torchvision's 10-bin magnitude tables, random sign for signed ops).
#pragma once
#include "data/augment.h"

namespace dr::data {

enum class AutoAugOp { Identity, Invert, Equalize, Solarize, AutoContrast, Contrast };

struct AutoAugStep {
  AutoAugOp op = AutoAugOp::Identity;
  float prob = 0;
  int magnitude_bin = 0;  // index into the op's 10-bin table
};

// The 25 SVHN sub-policies with geometric ops replaced by Identity.
const std::vector<std::pair<AutoAugStep, AutoAugStep>>& svhn_color_policy();

// Applies one op at a magnitude bin and sign (the deterministic core, used by tests).
void apply_autoaug_op(Image& img, AutoAugOp op, int magnitude_bin, bool negative);

class SvhnAutoAugmentColor : public Augment {
 public:
  float p = 1.0f;  // probability of running the drawn sub-policy at all
  std::string name() const override;
  void apply(Image& img, std::vector<Box>& boxes, Rng& rng) const override;
};

}  // namespace dr::data
