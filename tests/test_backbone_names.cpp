// The backbone's module tree against torchvision's state_dict(): same keys, same order,
// same shapes, for v1, v2 and v2 + residual FPN at 91 and 11 classes (the name lists are
// produced by torchvision in tools/ref/backbone.py). Until the detector heads exist,
// the comparison covers the "backbone." part of the whole model's state_dict.
#include <sstream>

#include "detector/model_config.h"
#include "nn/backbone_fpn.h"
#include "tests/testing.h"

using namespace dr;

namespace {

using NameList = std::vector<std::pair<std::string, Shape>>;

NameList torchvision_names(const std::string& key, const std::string& prefix) {
  const TensorFile& ref = test::reference("backbone");
  REQUIRE_MESSAGE(ref.meta["names"].contains(key), "no name list " << key << " in the dump");
  NameList out;
  for (const auto& e : ref.meta["names"][key]) {
    std::string name = e[0].get<std::string>();
    if (name.compare(0, prefix.size(), prefix) == 0) out.emplace_back(name, e[1].get<Shape>());
  }
  return out;
}

NameList our_names(const Module& m, const std::string& prefix) {
  NameList out;
  for (const NamedTensor& nt : m.named_tensors(prefix)) out.emplace_back(nt.name, nt.tensor->shape());
  return out;
}

// Reports the first difference and counts, so a failure says what to fix.
void check_same(const NameList& ours, const NameList& theirs, const std::string& what) {
  std::ostringstream os;
  size_t n = std::min(ours.size(), theirs.size()), i = 0;
  while (i < n && ours[i] == theirs[i]) ++i;
  if (i < n)
    os << "first difference at #" << i << ": ours " << ours[i].first << shape_str(ours[i].second)
       << ", torchvision " << theirs[i].first << shape_str(theirs[i].second);
  else if (ours.size() != theirs.size())
    os << "ours has " << ours.size() << " tensors, torchvision " << theirs.size() << "; next: "
       << (ours.size() > n ? ours[n].first : theirs[n].first);
  INFO(what << ": " << os.str());
  CHECK(ours == theirs);
}

ModelConfig config_for(const std::string& variant) {
  const TensorFile& ref = test::reference("backbone");
  return ModelConfig::from_json(ref.meta["variants"][variant]);
}

}  // namespace

TEST_CASE("names: backbone matches torchvision's state_dict for v1, v2, v2 + residual FPN") {
  Context ctx(Device::cpu(), 1);
  for (std::string v : {"v1", "v2", "v2res"}) {
    ModelConfig cfg = config_for(v);
    BackboneWithFPN bb(ctx, cfg.backbone_options());
    // The class count does not reach the backbone; both lists must match the same tree.
    for (int classes : {91, 11}) {
      const std::string key = v + "_" + std::to_string(classes);
      check_same(our_names(bb, "backbone"), torchvision_names(key, "backbone."), key);
    }
  }
}

TEST_CASE("names: resnet34, resnet101 and resnext101_32x8d backbones match torchvision") {
  Context ctx(Device::cpu(), 1);
  for (std::string name : {"resnet34", "resnet101", "resnext101_32x8d"}) {
    ModelConfig cfg;
    cfg.backbone = name;
    BackboneWithFPN bb(ctx, cfg.backbone_options());
    check_same(our_names(bb, "backbone"), torchvision_names(name + "_backbone", "backbone."), name);
  }
}

TEST_CASE("names: residual FPN keys are the wrapper's (backbone.fpn.fpn.*, backbone.fpn.res_blocks.*)") {
  Context ctx(Device::cpu(), 1);
  BackboneWithFPN bb(ctx, config_for("v2res").backbone_options());
  auto names = our_names(bb, "backbone");
  auto has = [&](const std::string& n) {
    for (auto& e : names)
      if (e.first == n) return true;
    return false;
  };
  CHECK(has("backbone.fpn.fpn.inner_blocks.0.0.weight"));
  CHECK(has("backbone.fpn.res_blocks.0.0.conv1.weight"));
  CHECK(has("backbone.fpn.res_blocks.3.0.bn2.num_batches_tracked"));
  CHECK_FALSE(has("backbone.fpn.res_blocks.4.0.conv1.weight"));  // none for "pool"
}

TEST_CASE("names: trainable_layers 0..5 freeze the same parameters as torchvision") {
  Context ctx(Device::cpu(), 1);
  const TensorFile& ref = test::reference("backbone");
  for (std::string v : {"v1", "v2"}) {
    BackboneWithFPN bb(ctx, config_for(v).backbone_options());
    for (int tl = 0; tl <= 5; ++tl) {
      bb.body.freeze(tl);
      std::vector<std::string> ours, theirs;
      for (auto& nt : bb.trainable_parameters("backbone")) ours.push_back(nt.name);
      for (auto& n : ref.meta["trainable"][v + "_" + std::to_string(tl)])
        theirs.push_back(n.get<std::string>());
      INFO(v << " trainable_layers=" << tl << ": ours " << ours.size() << ", torchvision "
             << theirs.size());
      CHECK(ours == theirs);
    }
  }
}

TEST_CASE("names: every ResNet variant builds with torchvision's stage widths") {
  Context ctx(Device::cpu(), 1);
  for (std::string name : {"resnet18", "resnet34", "resnet50", "resnext50_32x4d"}) {
    ResNetSpec s = resnet_spec(name);
    ResNetBody body(ctx, s, NormKind::FrozenBatchNorm);
    CHECK(body.out_channels() == std::vector<int64_t>{s.stage2_channels(), s.stage2_channels() * 2,
                                                      s.stage2_channels() * 4,
                                                      s.stage2_channels() * 8});
    CHECK(body.layer3.size() == static_cast<size_t>(s.layers[2]));
  }
  // resnext50_32x4d: width = 64 * 4 / 64 * 32 = 128 channels, 4 per group.
  ResNetBody x(ctx, resnet_spec("resnext50_32x4d"), NormKind::BatchNorm);
  CHECK(x.layer1.get<Bottleneck>(0).conv2.weight.shape() == Shape{128, 4, 3, 3});
  CHECK_THROWS_WITH_AS(resnet_spec("resnet152"), doctest::Contains("unknown backbone 'resnet152'"),
                       Error);
}
