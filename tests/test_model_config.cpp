// ModelConfig <-> the JSON in a weight file's header, and its validation errors.
#include "detector/model_config.h"
#include "tests/testing.h"

using namespace dr;

TEST_CASE("model config: JSON round trip, defaults, and what the backbone gets") {
  ModelConfig c;
  c.arch = "v2";
  c.backbone = "resnext50_32x4d";
  c.res_fpn = true;
  c.num_classes = 11;
  c.trainable_layers = 5;
  c.frozen_bn_eps = 0.0;
  c.min_size = 320;
  c.max_size = 640;
  ModelConfig d = ModelConfig::from_json(c.to_json());
  CHECK(d.to_json() == c.to_json());
  BackboneOptions o = d.backbone_options();
  CHECK(o.resnet == "resnext50_32x4d");
  CHECK(o.body_norm == NormKind::BatchNorm);
  CHECK(o.fpn_norm);
  CHECK(o.res_fpn);
  CHECK(o.trainable_layers == 5);

  ModelConfig v1 = ModelConfig::from_json(nlohmann::json::object());  // all defaults
  CHECK(v1.arch == "v1");
  CHECK(v1.num_classes == 91);
  CHECK(v1.backbone_options().body_norm == NormKind::FrozenBatchNorm);
  CHECK_FALSE(v1.backbone_options().fpn_norm);
  // Unknown keys (fields added later) are ignored.
  CHECK_NOTHROW(ModelConfig::from_json({{"arch", "v1"}, {"future_field", 1}}));
}

TEST_CASE("model config: bad values are errors naming the field") {
  auto err = [](const nlohmann::json& j) {
    try {
      ModelConfig::from_json(j);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  CHECK(err({{"arch", "v3"}}).find("arch") != std::string::npos);
  CHECK(err({{"backbone", "vgg16"}}).find("unknown backbone 'vgg16'") != std::string::npos);
  CHECK(err({{"trainable_layers", 6}}).find("trainable_layers") != std::string::npos);
  CHECK(err({{"num_classes", 1}}).find("num_classes") != std::string::npos);
  CHECK(err({{"num_classes", "eleven"}}).find("bad field type") != std::string::npos);
  CHECK(err({{"min_size", 900}, {"max_size", 800}}).find("min_size") != std::string::npos);
  CHECK(err(nlohmann::json::array()).find("JSON object") != std::string::npos);
}
