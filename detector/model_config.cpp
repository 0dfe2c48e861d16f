#include "detector/model_config.h"

namespace dr {

void ModelConfig::validate() const {
  DR_CHECK(arch == "v1" || arch == "v2",
           "model config: arch must be \"v1\" or \"v2\", got \"" << arch << "\"");
  resnet_spec(backbone);  // throws for an unknown backbone name
  DR_CHECK(num_classes >= 2, "model config: num_classes must be >= 2 (background + at least one "
                             "class), got " << num_classes);
  DR_CHECK(trainable_layers >= 0 && trainable_layers <= 5,
           "model config: trainable_layers must be in [0, 5], got " << trainable_layers);
  DR_CHECK(frozen_bn_eps >= 0, "model config: frozen_bn_eps must be >= 0, got " << frozen_bn_eps);
  DR_CHECK(min_size > 0 && max_size >= min_size,
           "model config: need 0 < min_size <= max_size, got " << min_size << ", " << max_size);
}

nlohmann::json ModelConfig::to_json() const {
  return {{"arch", arch},
          {"backbone", backbone},
          {"res_fpn", res_fpn},
          {"num_classes", num_classes},
          {"trainable_layers", trainable_layers},
          {"frozen_bn_eps", frozen_bn_eps},
          {"min_size", min_size},
          {"max_size", max_size}};
}

ModelConfig ModelConfig::from_json(const nlohmann::json& j) {
  DR_CHECK(j.is_object(), "model config: expected a JSON object, got " << j.dump());
  ModelConfig c;
  try {
    if (j.contains("arch")) c.arch = j.at("arch").get<std::string>();
    if (j.contains("backbone")) c.backbone = j.at("backbone").get<std::string>();
    if (j.contains("res_fpn")) c.res_fpn = j.at("res_fpn").get<bool>();
    if (j.contains("num_classes")) c.num_classes = j.at("num_classes").get<int>();
    if (j.contains("trainable_layers")) c.trainable_layers = j.at("trainable_layers").get<int>();
    if (j.contains("frozen_bn_eps")) c.frozen_bn_eps = j.at("frozen_bn_eps").get<double>();
    if (j.contains("min_size")) c.min_size = j.at("min_size").get<int>();
    if (j.contains("max_size")) c.max_size = j.at("max_size").get<int>();
  } catch (const nlohmann::json::exception& e) {
    DR_FAIL("model config: bad field type in " << j.dump() << ": " << e.what());
  }
  c.validate();
  return c;
}

BackboneOptions ModelConfig::backbone_options() const {
  validate();
  BackboneOptions o;
  o.resnet = backbone;
  o.body_norm = arch == "v1" ? NormKind::FrozenBatchNorm : NormKind::BatchNorm;
  o.frozen_bn_eps = frozen_bn_eps;
  o.fpn_norm = arch == "v2";
  o.res_fpn = res_fpn;
  o.trainable_layers = trainable_layers;
  return o;
}

}  // namespace dr
