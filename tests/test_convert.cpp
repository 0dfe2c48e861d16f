// tools/convert_weights.py's --pth path: an old-style DataParallel checkpoint ("model"
// dict, "module." prefix, pre-0.8 FPN key spelling) written by tools/ref/backbone.py
// converts to exactly the tensors of the direct conversion, loads strictly into our
// backbone, and a checkpoint that does not fit the requested config is refused.
#include <cstdlib>
#include <cstring>
#include <unistd.h>

#include "detector/model_config.h"
#include "nn/backbone_fpn.h"
#include "nn/weights.h"
#include "tests/testing.h"

using namespace dr;

namespace {
std::string ref_path(const std::string& file) {
  const char* d = std::getenv("DR_REF_DIR");
  return std::string(d ? d : "build/ref") + "/" + file;
}
std::string python() {
  const char* p = std::getenv("DR_PYTHON");
  return p ? p : "/usr/bin/python3";
}
}  // namespace

TEST_CASE("convert: a legacy DataParallel checkpoint converts like the direct state_dict") {
  test::reference("backbone");  // the dump (and its sibling files) must exist
  const std::string out = "/tmp/dr_convert_" + std::to_string(getpid()) + ".bin";
  const std::string cmd = python() + " tools/convert_weights.py " + out + " --pth " +
                          ref_path("backbone_r18.legacy.pth") +
                          " --scope backbone --frozen-bn-eps 0 > /dev/null";
  INFO(cmd);
  REQUIRE(std::system(cmd.c_str()) == 0);
  TensorFile got = read_tensor_file(out), want = read_tensor_file(ref_path("backbone_r18.weights.bin"));
  // The config was inferred from the keys (resnet18, v1) plus the eps flag.
  CHECK(got.meta["config"] == want.meta["config"]);
  REQUIRE(got.tensors.size() == want.tensors.size());
  for (size_t i = 0; i < got.tensors.size(); ++i) {
    CHECK(got.tensors[i].first == want.tensors[i].first);
    const Tensor &a = got.tensors[i].second, &b = want.tensors[i].second;
    REQUIRE(a.nbytes() == b.nbytes());
    CHECK_MESSAGE(std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0, got.tensors[i].first);
  }
  Context ctx(Device::cpu(), 1);
  BackboneWithFPN bb(ctx, ModelConfig::from_json(got.meta["config"]).backbone_options());
  LoadOptions opt;
  opt.prefix = "backbone";
  CHECK(load_weights(ctx, bb, got, opt).loaded == got.tensors.size());
  std::remove(out.c_str());

  // Forcing a config the checkpoint does not fit: torchvision's strict load refuses it.
  const std::string bad = python() + " tools/convert_weights.py " + out + " --pth " +
                          ref_path("backbone_r18.legacy.pth") +
                          " --scope backbone --backbone resnet34 > /dev/null 2>&1";
  CHECK(std::system(bad.c_str()) != 0);
}

TEST_CASE("convert: --fresh moves a plain FPN under the residual wrapper and initializes the blocks") {
  test::reference("backbone");
  const std::string out = "/tmp/dr_convert_fresh_" + std::to_string(getpid()) + ".bin";
  const std::string cmd = python() + " tools/convert_weights.py " + out + " --pth " +
                          ref_path("backbone_r18.legacy.pth") +
                          " --scope backbone --frozen-bn-eps 0 --res-fpn --fresh > /dev/null";
  INFO(cmd);
  REQUIRE(std::system(cmd.c_str()) == 0);
  TensorFile got = read_tensor_file(out), plain = read_tensor_file(ref_path("backbone_r18.weights.bin"));
  CHECK(got.meta["config"]["res_fpn"] == true);
  // 4 blocks x (2 convs x 2 + 2 BNs x 5) tensors, all freshly initialized.
  REQUIRE(got.meta["fresh"].size() == 56);
  for (auto& k : got.meta["fresh"])
    CHECK(k.get<std::string>().rfind("backbone.fpn.res_blocks.", 0) == 0);
  // Every tensor of the plain model reappears unchanged, the FPN's under "fpn.fpn.".
  for (auto& kv : plain.tensors) {
    std::string name = kv.first;
    if (name.rfind("backbone.fpn.", 0) == 0) name = "backbone.fpn.fpn." + name.substr(13);
    const Tensor* t = got.find(name);
    REQUIRE_MESSAGE(t, name);
    REQUIRE(t->nbytes() == kv.second.nbytes());
    CHECK_MESSAGE(std::memcmp(t->raw(), kv.second.raw(), t->nbytes()) == 0, name);
  }
  CHECK(got.tensors.size() == plain.tensors.size() + 56);
  Context ctx(Device::cpu(), 1);
  BackboneWithFPN bb(ctx, ModelConfig::from_json(got.meta["config"]).backbone_options());
  LoadOptions opt;
  opt.prefix = "backbone";
  CHECK(load_weights(ctx, bb, got, opt).loaded == got.tensors.size());
  std::remove(out.c_str());
}
