#include "data/augment.h"

#include "data/aug_autoaugment.h"
#include "data/aug_color.h"
#include "data/aug_degrade.h"
#include "data/aug_geometry.h"

namespace dr::data {

void Pipeline::apply(Sample& s, uint64_t seed) const {
  Rng rng(seed);
  for (const AugmentPtr& op : ops_) op->apply(s.image, s.boxes, rng);
}

std::string Pipeline::describe() const {
  if (ops_.empty()) return "(no augmentation)";
  std::string out;
  for (const AugmentPtr& op : ops_) out += (out.empty() ? "" : " -> ") + op->name();
  return out;
}

namespace {

void add_seed000(Pipeline& p) {
  p.add(std::make_shared<ColorJitter>());
  p.add(std::make_shared<RandomAffine>());
  p.add(std::make_shared<SvhnAutoAugmentColor>());
}

void add_seed001(Pipeline& p) {
  p.add(std::make_shared<RandomGrayscale>());
  p.add(std::make_shared<RandomSharpness>());
  p.add(std::make_shared<RandomGaussianBlur>());
  p.add(std::make_shared<RandomAutocontrast>());
  p.add(std::make_shared<RandomEqualize>());
  p.add(std::make_shared<Fog>());
  p.add(std::make_shared<MotionBlur>());
  p.add(std::make_shared<ChannelDropout>());
  p.add(std::make_shared<CoarseDropout>());
}

}  // namespace

std::vector<std::string> preset_names() { return {"none", "seed000", "seed001", "all"}; }

Pipeline make_preset(const std::string& name) {
  Pipeline p;
  if (name == "none") return p;
  if (name == "seed000" || name == "all") add_seed000(p);
  if (name == "seed001" || name == "all") add_seed001(p);
  if (p.empty()) {
    std::string names;
    for (const auto& n : preset_names()) names += " " + n;
    DR_FAIL("augment: unknown preset \"" << name << "\"; known:" << names);
  }
  return p;
}

}  // namespace dr::data
