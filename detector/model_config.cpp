#include "detector/model_config.h"

#include <type_traits>

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
  DR_CHECK(anchor_sizes.size() == 5 && aspect_ratios.size() == 5,
           "model config: anchor_sizes and aspect_ratios need one list per FPN level (5), got "
               << anchor_sizes.size() << " and " << aspect_ratios.size());
  for (size_t l = 0; l < 5; ++l) {
    DR_CHECK(!anchor_sizes[l].empty() && !aspect_ratios[l].empty(),
             "model config: empty anchor list at level " << l);
    DR_CHECK(anchor_sizes[l].size() * aspect_ratios[l].size() ==
                 anchor_sizes[0].size() * aspect_ratios[0].size(),
             "model config: level " << l << " has a different anchor count per location than "
                                       "level 0 (the RPN head is shared across levels)");
    for (double v : anchor_sizes[l]) DR_CHECK(v > 0, "model config: anchor size " << v << " <= 0");
    for (double v : aspect_ratios[l]) DR_CHECK(v > 0, "model config: aspect ratio " << v << " <= 0");
  }
  DR_CHECK(rpn_pre_nms_top_n_test > 0 && rpn_post_nms_top_n_test > 0 && box_detections_per_img > 0,
           "model config: rpn_pre_nms_top_n_test, rpn_post_nms_top_n_test and "
           "box_detections_per_img must be positive");
  DR_CHECK(rpn_pre_nms_top_n_train > 0 && rpn_post_nms_top_n_train > 0 &&
               rpn_batch_size_per_image > 0 && box_batch_size_per_image > 0,
           "model config: rpn_pre/post_nms_top_n_train and the sampler batch sizes must be positive");
  for (double f : {rpn_positive_fraction, box_positive_fraction})
    DR_CHECK(f > 0 && f <= 1, "model config: positive fractions must be in (0, 1], got " << f);
  DR_CHECK(rpn_bg_iou_thresh <= rpn_fg_iou_thresh && box_bg_iou_thresh <= box_fg_iou_thresh,
           "model config: a background IoU threshold above its foreground threshold");
  DR_CHECK(rpn_nms_thresh > 0 && rpn_nms_thresh <= 1, "model config: rpn_nms_thresh must be in (0, 1]");
  DR_CHECK(body_norm.empty() || body_norm == "batch" || body_norm == "frozen",
           "model config: body_norm must be \"\", \"batch\" or \"frozen\", got \"" << body_norm << "\"");
  DR_CHECK(box_score_thresh >= 0 && box_score_thresh < 1 && box_nms_thresh > 0 && box_nms_thresh <= 1,
           "model config: box_score_thresh must be in [0, 1) and box_nms_thresh in (0, 1]");
}

nlohmann::json ModelConfig::to_json() const {
  return {{"arch", arch},
          {"backbone", backbone},
          {"res_fpn", res_fpn},
          {"num_classes", num_classes},
          {"trainable_layers", trainable_layers},
          {"frozen_bn_eps", frozen_bn_eps},
          {"min_size", min_size},
          {"max_size", max_size},
          {"anchor_sizes", anchor_sizes},
          {"aspect_ratios", aspect_ratios},
          {"rpn_pre_nms_top_n_test", rpn_pre_nms_top_n_test},
          {"rpn_post_nms_top_n_test", rpn_post_nms_top_n_test},
          {"box_score_thresh", box_score_thresh},
          {"box_nms_thresh", box_nms_thresh},
          {"box_detections_per_img", box_detections_per_img},
          {"rpn_pre_nms_top_n_train", rpn_pre_nms_top_n_train},
          {"rpn_post_nms_top_n_train", rpn_post_nms_top_n_train},
          {"rpn_nms_thresh", rpn_nms_thresh},
          {"rpn_fg_iou_thresh", rpn_fg_iou_thresh},
          {"rpn_bg_iou_thresh", rpn_bg_iou_thresh},
          {"rpn_batch_size_per_image", rpn_batch_size_per_image},
          {"rpn_positive_fraction", rpn_positive_fraction},
          {"box_fg_iou_thresh", box_fg_iou_thresh},
          {"box_bg_iou_thresh", box_bg_iou_thresh},
          {"box_batch_size_per_image", box_batch_size_per_image},
          {"box_positive_fraction", box_positive_fraction},
          {"body_norm", body_norm}};
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
    if (j.contains("anchor_sizes"))
      c.anchor_sizes = j.at("anchor_sizes").get<std::vector<std::vector<double>>>();
    if (j.contains("aspect_ratios"))
      c.aspect_ratios = j.at("aspect_ratios").get<std::vector<std::vector<double>>>();
    if (j.contains("rpn_pre_nms_top_n_test"))
      c.rpn_pre_nms_top_n_test = j.at("rpn_pre_nms_top_n_test").get<int>();
    if (j.contains("rpn_post_nms_top_n_test"))
      c.rpn_post_nms_top_n_test = j.at("rpn_post_nms_top_n_test").get<int>();
    if (j.contains("box_score_thresh")) c.box_score_thresh = j.at("box_score_thresh").get<double>();
    if (j.contains("box_nms_thresh")) c.box_nms_thresh = j.at("box_nms_thresh").get<double>();
    if (j.contains("box_detections_per_img"))
      c.box_detections_per_img = j.at("box_detections_per_img").get<int>();
    auto read = [&j](const char* key, auto& field) {
      if (j.contains(key)) field = j.at(key).get<std::decay_t<decltype(field)>>();
    };
    read("rpn_pre_nms_top_n_train", c.rpn_pre_nms_top_n_train);
    read("rpn_post_nms_top_n_train", c.rpn_post_nms_top_n_train);
    read("rpn_nms_thresh", c.rpn_nms_thresh);
    read("rpn_fg_iou_thresh", c.rpn_fg_iou_thresh);
    read("rpn_bg_iou_thresh", c.rpn_bg_iou_thresh);
    read("rpn_batch_size_per_image", c.rpn_batch_size_per_image);
    read("rpn_positive_fraction", c.rpn_positive_fraction);
    read("box_fg_iou_thresh", c.box_fg_iou_thresh);
    read("box_bg_iou_thresh", c.box_bg_iou_thresh);
    read("box_batch_size_per_image", c.box_batch_size_per_image);
    read("box_positive_fraction", c.box_positive_fraction);
    read("body_norm", c.body_norm);
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
  const bool frozen = body_norm.empty() ? arch == "v1" : body_norm == "frozen";
  o.body_norm = frozen ? NormKind::FrozenBatchNorm : NormKind::BatchNorm;
  o.frozen_bn_eps = frozen_bn_eps;
  o.fpn_norm = arch == "v2";
  o.res_fpn = res_fpn;
  o.trainable_layers = trainable_layers;
  return o;
}

}  // namespace dr
