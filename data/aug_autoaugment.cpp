#include "data/aug_autoaugment.h"

#include "data/aug_color.h"

namespace dr::data {

namespace {
constexpr int kNumBins = 10;  // torchvision AutoAugment's num_bins
AutoAugStep I(float p, int m = 0) { return {AutoAugOp::Invert, p, m}; }
AutoAugStep E(float p, int m = 0) { return {AutoAugOp::Equalize, p, m}; }
AutoAugStep S(float p, int m) { return {AutoAugOp::Solarize, p, m}; }
AutoAugStep A(float p, int m = 0) { return {AutoAugOp::AutoContrast, p, m}; }
AutoAugStep C(float p, int m) { return {AutoAugOp::Contrast, p, m}; }
// A geometric op of the original policy (ShearX/Y, TranslateX/Y, Rotate).
AutoAugStep G(float p, int m) { return {AutoAugOp::Identity, p, m}; }
}  // namespace

const std::vector<std::pair<AutoAugStep, AutoAugStep>>& svhn_color_policy() {
  // torchvision/transforms/autoaugment.py, AutoAugmentPolicy.SVHN, in order; the
  // comment names the geometric op a G() stands for.
  static const std::vector<std::pair<AutoAugStep, AutoAugStep>> policy = {
      {G(0.9f, 4), I(0.2f)},     // ShearX
      {G(0.9f, 8), I(0.7f)},     // ShearY
      {E(0.6f), S(0.6f, 6)},
      {I(0.9f), E(0.6f)},
      {E(0.6f), G(0.9f, 3)},     // Rotate
      {G(0.9f, 4), A(0.8f)},     // ShearX
      {G(0.9f, 8), I(0.4f)},     // ShearY
      {G(0.9f, 5), S(0.2f, 6)},  // ShearY
      {I(0.9f), A(0.8f)},
      {E(0.6f), G(0.9f, 3)},     // Rotate
      {G(0.9f, 4), S(0.3f, 3)},  // ShearX
      {G(0.8f, 8), I(0.7f)},     // ShearY
      {E(0.9f), G(0.6f, 6)},     // TranslateY
      {I(0.9f), E(0.6f)},
      {C(0.3f, 3), G(0.8f, 4)},  // Rotate
      {I(0.8f), G(0.0f, 2)},     // TranslateY
      {G(0.7f, 6), S(0.4f, 8)},  // ShearY
      {I(0.6f), G(0.8f, 4)},     // Rotate
      {G(0.3f, 7), G(0.9f, 3)},  // ShearY, TranslateX
      {G(0.1f, 6), I(0.6f)},     // ShearX
      {S(0.7f, 2), G(0.6f, 7)},  // TranslateY
      {G(0.8f, 4), I(0.8f)},     // ShearY
      {G(0.7f, 9), G(0.8f, 3)},  // ShearX, TranslateY
      {G(0.8f, 5), A(0.7f)},     // ShearY
      {G(0.7f, 2), I(0.1f)},     // ShearX
  };
  return policy;
}

void apply_autoaug_op(Image& img, AutoAugOp op, int bin, bool negative) {
  DR_CHECK(bin >= 0 && bin < kNumBins, "autoaugment: magnitude bin " << bin);
  switch (op) {
    case AutoAugOp::Identity: break;
    case AutoAugOp::Invert: invert(img); break;
    case AutoAugOp::Equalize: equalize(img); break;
    case AutoAugOp::AutoContrast: autocontrast(img); break;
    case AutoAugOp::Solarize:
      // torch.linspace(255.0, 0.0, num_bins), unsigned
      solarize(img, 255.0f - 255.0f * bin / (kNumBins - 1));
      break;
    case AutoAugOp::Contrast: {
      // torch.linspace(0.0, 0.9, num_bins), signed
      float m = 0.9f * bin / (kNumBins - 1);
      adjust_contrast(img, 1.0f + (negative ? -m : m));
      break;
    }
  }
}

std::string SvhnAutoAugmentColor::name() const {
  return "SvhnAutoAugmentColor(p=" + std::to_string(p) + ")";
}

void SvhnAutoAugmentColor::apply(Image& img, std::vector<Box>&, Rng& rng) const {
  if (rng.uniform() >= p) return;
  const auto& policy = svhn_color_policy();
  const auto& sub = policy[rng.randint(static_cast<int64_t>(policy.size()))];
  // torchvision draws (policy_id, probs[2], signs[2]) up front; so do we.
  const double r0 = rng.uniform(), r1 = rng.uniform();
  const bool n0 = rng.randint(2) == 0, n1 = rng.randint(2) == 0;
  // torchvision applies an op when probs[i] <= p.
  if (r0 <= sub.first.prob) apply_autoaug_op(img, sub.first.op, sub.first.magnitude_bin, n0);
  if (r1 <= sub.second.prob) apply_autoaug_op(img, sub.second.op, sub.second.magnitude_bin, n1);
}

}  // namespace dr::data
