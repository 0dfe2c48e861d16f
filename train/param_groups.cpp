#include "train/param_groups.h"

namespace dr::train {

namespace {

bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }

}  // namespace

ParamGroups make_param_groups(const Module& model, const ParamGroupSettings& s) {
  DR_CHECK(s.lr >= 0 && s.weight_decay >= 0 && s.backbone_lr_mult >= 0 && s.momentum >= 0,
           "param groups: lr " << s.lr << ", weight_decay " << s.weight_decay
                               << ", backbone_lr_mult " << s.backbone_lr_mult << ", momentum "
                               << s.momentum << ": none may be negative");
  // [backbone?][no decay?]
  std::vector<NamedParam> bins[2][2];
  for (const NamedTensor& t : model.trainable_parameters()) {
    const bool backbone = starts_with(t.name, kBackbonePrefix);
    const bool no_decay = s.no_decay_norm_bias && (t.tags.norm || t.tags.bias);
    bins[backbone][no_decay].emplace_back(t.name, t.tensor);
  }
  ParamGroups out;
  const char* labels[2][2] = {{"head", "head/no_decay"}, {"backbone", "backbone/no_decay"}};
  for (int b = 0; b < 2; ++b)
    for (int nd = 0; nd < 2; ++nd) {
      if (bins[b][nd].empty()) continue;
      ParamGroup g;
      g.params = std::move(bins[b][nd]);
      g.base_lr = g.lr = b ? s.lr * s.backbone_lr_mult : s.lr;
      g.weight_decay = nd ? 0.0 : s.weight_decay;
      g.momentum = s.momentum;
      out.labels.push_back(labels[b][nd]);
      out.groups.push_back(std::move(g));
    }
  DR_CHECK(!out.groups.empty(), "param groups: the model has no trainable parameter");
  return out;
}

}  // namespace dr::train
