#include "detector/faster_rcnn.h"

namespace dr {

static GeneralizedRCNNTransform make_transform(const ModelConfig& c) {
  GeneralizedRCNNTransform t;
  t.min_sizes = {c.min_size};
  t.max_size = c.max_size;
  return t;
}

static AnchorGenerator make_anchors(const ModelConfig& c) {
  AnchorGenerator a;
  if (!c.anchor_sizes.empty()) a.sizes = c.anchor_sizes;
  if (!c.aspect_ratios.empty()) a.aspect_ratios = c.aspect_ratios;
  return a;
}

static RPNConfig make_rpn_config(const ModelConfig& c) {
  RPNConfig r;
  r.conv_depth = c.arch == "v2" ? 2 : 1;
  r.pre_nms_top_n_test = c.rpn_pre_nms_top_n_test;
  r.post_nms_top_n_test = c.rpn_post_nms_top_n_test;
  r.pre_nms_top_n_train = c.rpn_pre_nms_top_n_train;
  r.post_nms_top_n_train = c.rpn_post_nms_top_n_train;
  r.nms_thresh = c.rpn_nms_thresh;
  r.fg_iou_thresh = c.rpn_fg_iou_thresh;
  r.bg_iou_thresh = c.rpn_bg_iou_thresh;
  r.batch_size_per_image = c.rpn_batch_size_per_image;
  r.positive_fraction = c.rpn_positive_fraction;
  return r;
}

static std::unique_ptr<BoxHead> make_box_head(Context& ctx, const ModelConfig& c, int64_t channels) {
  const int pool = 7;  // MultiScaleRoIAlign output_size
  if (c.arch == "v2")
    return std::make_unique<FastRCNNConvFCHead>(ctx, channels, pool,
                                                std::vector<int64_t>{256, 256, 256, 256},
                                                std::vector<int64_t>{1024}, NormKind::BatchNorm);
  return std::make_unique<TwoMLPHead>(ctx, channels * pool * pool, 1024);
}

static RoIHeadsConfig make_roi_config(const ModelConfig& c) {
  RoIHeadsConfig r;
  r.score_thresh = c.box_score_thresh;
  r.nms_thresh = c.box_nms_thresh;
  r.detections_per_img = c.box_detections_per_img;
  r.fg_iou_thresh = c.box_fg_iou_thresh;
  r.bg_iou_thresh = c.box_bg_iou_thresh;
  r.batch_size_per_image = c.box_batch_size_per_image;
  r.positive_fraction = c.box_positive_fraction;
  return r;
}

FasterRCNN::FasterRCNN(Context& ctx, const ModelConfig& cfg)
    : transform(make_transform(cfg)),
      backbone(ctx, cfg.backbone_options()),
      rpn(ctx, make_anchors(cfg), backbone.out_channels(), make_rpn_config(cfg)),
      roi_heads(ctx, make_box_head(ctx, cfg, backbone.out_channels()), cfg.num_classes,
                make_roi_config(cfg)),
      cfg_(cfg) {
  register_module("backbone", backbone);
  register_module("rpn", rpn);
  register_module("roi_heads", roi_heads);
  // ParamTags::stage: "backbone.body" and "backbone.fpn" (marked by the backbone), "rpn",
  // "roi_heads".
  rpn.set_stage_root();
  roi_heads.set_stage_root();
}

void FasterRCNN::train(bool on) {
  Module::train(on);
  transform.training = on;
}

FasterRCNN::Trace FasterRCNN::forward_trace(Context& ctx, const std::vector<Tensor>& images) {
  DR_CHECK(!is_training(), "FasterRCNN::forward_trace/detect is the eval forward but the model "
                           "is in training mode: call train(false) first");
  DR_CHECK(!images.empty(), "FasterRCNN: no images");
  GradModeGuard no_record(ctx, false);
  Trace t;
  std::vector<ImageSize> original;
  for (const Tensor& im : images) {
    DR_CHECK(im.dim() == 3 && im.size(0) == 3,
             "FasterRCNN: images must be (3, H, W) floats in [0, 1], got " << im.str());
    original.emplace_back(im.size(1), im.size(2));
  }
  t.images = transform.forward(ctx, images);
  t.features = backbone.forward(ctx, t.images.tensors);
  t.rpn = rpn.forward(ctx, t.images, t.features);
  t.roi = roi_heads.forward(ctx, t.features, t.rpn.boxes, t.images.image_sizes);
  std::vector<Tensor> boxes;
  for (auto& d : t.roi.detections) boxes.push_back(d.boxes);
  std::vector<Tensor> mapped = transform.postprocess(ctx, boxes, t.images.image_sizes, original);
  t.detections = t.roi.detections;
  for (size_t i = 0; i < mapped.size(); ++i) t.detections[i].boxes = mapped[i];
  return t;
}

}  // namespace dr
