// RoIHeads: torchvision 0.14 models/detection/roi_heads.py, inference path.
// MultiScaleRoIAlign (7x7, sampling 2) on the proposals -> box head -> predictor ->
// postprocess_detections: softmax, class-wise decode (weights 10,10,5,5), clip, drop
// background, score > 0.05, remove small (1e-2), class-wise NMS 0.5, best 100 per image.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "detector/box_head.h"
#include "detector/box_predictor.h"
#include "detector/boxes.h"
#include "detector/matcher.h"
#include "detector/roi_align.h"
#include "detector/sampler.h"
#include "detector/transform.h"

namespace dr {

// torchvision FasterRCNN's box defaults.
struct RoIHeadsConfig {
  double score_thresh = 0.05;    // box_score_thresh (strict >, as torchvision)
  double nms_thresh = 0.5;       // box_nms_thresh
  int64_t detections_per_img = 100;
  double min_size = 1e-2;        // remove_small_boxes in postprocess_detections
  // Training targets (box_fg_iou_thresh, box_bg_iou_thresh, box_batch_size_per_image,
  // box_positive_fraction).
  double fg_iou_thresh = Matcher::kBoxFgIouThresh, bg_iou_thresh = Matcher::kBoxBgIouThresh;
  int64_t batch_size_per_image = BalancedPositiveNegativeSampler::kBoxBatchSizePerImage;
  double positive_fraction = BalancedPositiveNegativeSampler::kBoxPositiveFraction;
};

// One image's detections in the coordinates of the image the boxes refer to.
struct Detections {
  Tensor boxes;   // (k, 4) x1, y1, x2, y2
  Tensor scores;  // (k)
  Tensor labels;  // (k) int64 class ids, 1..num_classes-1 (0 is background)
};

class RoIHeads : public Module {
 public:
  RoIHeads(Context& ctx, std::unique_ptr<BoxHead> box_head, int64_t num_classes,
           const RoIHeadsConfig& cfg);

  struct Output {
    std::vector<Detections> detections;  // per image, resized-image coordinates
    Tensor box_features;                 // (sum k_i, C, 7, 7) pooled RoI features
    Tensor class_logits;                 // (sum k_i, classes)
    Tensor box_regression;               // (sum k_i, 4 * classes)
  };
  // features: FPN levels by name; proposals: per image (k_i, 4); image_sizes: per image
  // (h, w) after the transform's resize.
  Output forward(Context& ctx, const FeatureMaps& features, const std::vector<Tensor>& proposals,
                 const std::vector<ImageSize>& image_sizes);

  std::vector<Detections> postprocess_detections(Context& ctx, const Tensor& class_logits,
                                                 const Tensor& box_regression,
                                                 const std::vector<Tensor>& proposals,
                                                 const std::vector<ImageSize>& image_sizes) const;

  MultiScaleRoIAlign box_roi_pool;
  BoxCoder box_coder = BoxCoder::roi_heads();
  RoIHeadsConfig cfg;
  // Training: proposal matching and sampling (torchvision's member names).
  Matcher proposal_matcher;
  BalancedPositiveNegativeSampler fg_bg_sampler;
  std::unique_ptr<BoxHead> box_head;
  std::unique_ptr<FastRCNNPredictor> box_predictor;
};

}  // namespace dr
