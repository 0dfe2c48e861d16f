// Augmentations that transform an image and its boxes together, and the pipeline that
// runs them. Every op has a probability `p` and magnitude settings; randomness comes only
// from the Rng handed in, which the loader seeds per sample (seed, epoch, dataset index),
// so results do not depend on thread count or order.
//
// Photometric ops (colour, blur, noise-like) never touch boxes; geometric ops move boxes
// with the pixels, then clip them and drop the ones that became degenerate.
// The op families live in aug_color.h, aug_autoaugment.h, aug_geometry.h, aug_degrade.h.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "data/box.h"
#include "nn/rng.h"

namespace dr::data {

class Augment {
 public:
  virtual ~Augment() = default;
  virtual std::string name() const = 0;       // with its settings, for logs
  virtual bool geometric() const { return false; }  // true: boxes move with the pixels
  // Applies the op with its probability; boxes are in img's pixel coordinates.
  virtual void apply(Image& img, std::vector<Box>& boxes, Rng& rng) const = 0;
};
using AugmentPtr = std::shared_ptr<const Augment>;

class Pipeline {
 public:
  Pipeline() = default;
  explicit Pipeline(std::vector<AugmentPtr> ops) : ops_(std::move(ops)) {}
  Pipeline& add(AugmentPtr op) {
    ops_.push_back(std::move(op));
    return *this;
  }
  // Runs every op in order on the sample with an Rng seeded from `seed`.
  void apply(Sample& s, uint64_t seed) const;
  bool empty() const { return ops_.empty(); }
  const std::vector<AugmentPtr>& ops() const { return ops_; }
  std::string describe() const;  // "ColorJitter(...) -> RandomAffine(...) -> ..."

 private:
  std::vector<AugmentPtr> ops_;
};

// Named sets (docs/DATA.md lists them):
//  "none"     nothing;
//  "seed000"  the first seed design: ColorJitter + RandomAffine (+-10 deg, 10% translate,
//             +-2 deg shear) + SVHN AutoAugment restricted to colour ops;
//  "seed001"  the second seed design: grayscale, sharpness, gaussian blur, autocontrast,
//             equalize, fog, motion blur, channel dropout, coarse dropout;
//  "all"      seed000 followed by seed001.
// A fixed resize is not part of a preset: append FixedResize where wanted.
Pipeline make_preset(const std::string& name);
std::vector<std::string> preset_names();

// The schedule hook: augmentation is on for epochs [0, total - off_last_epochs) and off
// for the last off_last_epochs epochs (epochs count from 0).
struct AugmentSchedule {
  int total_epochs = 0;     // 0: unknown, augmentation always on
  int off_last_epochs = 0;
  bool enabled(int epoch) const {
    return total_epochs <= 0 || off_last_epochs <= 0 || epoch < total_epochs - off_last_epochs;
  }
};

}  // namespace dr::data
