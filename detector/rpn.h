// RegionProposalNetwork: torchvision 0.14 models/detection/rpn.py, inference path.
// Head on every FPN level -> per-anchor objectness and deltas laid out as
// permute_and_flatten does -> decode against the anchors -> per image and level the
// pre_nms_top_n best -> sigmoid -> clip, remove small (min_size 1e-3), score threshold,
// NMS per level (0.7) over all images at once -> the post_nms_top_n best per image.
#pragma once
#include <vector>

#include "detector/anchors.h"
#include "detector/boxes.h"
#include "detector/matcher.h"
#include "detector/rpn_head.h"
#include "detector/sampler.h"
#include "detector/transform.h"

namespace dr {

// torchvision FasterRCNN's RPN defaults.
struct RPNConfig {
  int64_t pre_nms_top_n_train = 2000, pre_nms_top_n_test = 1000;
  int64_t post_nms_top_n_train = 2000, post_nms_top_n_test = 1000;
  double nms_thresh = 0.7;
  double score_thresh = 0.0;
  double min_size = 1e-3;  // RegionProposalNetwork.min_size
  int conv_depth = 1;      // RPNHead convs: 1 in v1, 2 in v2
  // Training targets (rpn_fg_iou_thresh, rpn_bg_iou_thresh, rpn_batch_size_per_image,
  // rpn_positive_fraction).
  double fg_iou_thresh = Matcher::kRpnFgIouThresh, bg_iou_thresh = Matcher::kRpnBgIouThresh;
  int64_t batch_size_per_image = BalancedPositiveNegativeSampler::kRpnBatchSizePerImage;
  double positive_fraction = BalancedPositiveNegativeSampler::kRpnPositiveFraction;
};

class RegionProposalNetwork : public Module {
 public:
  RegionProposalNetwork(Context& ctx, const AnchorGenerator& anchors, int64_t in_channels,
                        const RPNConfig& cfg);

  struct Output {
    std::vector<Tensor> boxes;   // per image (k_i, 4) proposals in resized-image coordinates
    std::vector<Tensor> scores;  // per image (k_i) sigmoid objectness
    // Intermediates (parity tests, debugging):
    RPNHead::Output head;        // raw per-level outputs
    Tensor anchors;              // (A_total, 4), the same for every image of the batch
    Tensor objectness;           // (N, A_total) logits in anchor order
    Tensor deltas;               // (N, A_total, 4)
  };
  // features: the FPN levels in order ("0".."3", "pool"), each (N, 256, H_l, W_l); all
  // are used, in order, as torchvision's list(features.values()).
  // objectness and deltas keep their graph (the losses, detector/rpn_loss.h, use them);
  // the proposals are made from detached copies, as torchvision does.
  Output forward(Context& ctx, const ImageList& images, const FeatureMaps& features);

  int64_t pre_nms_top_n() const { return training_ ? cfg.pre_nms_top_n_train : cfg.pre_nms_top_n_test; }
  int64_t post_nms_top_n() const {
    return training_ ? cfg.post_nms_top_n_train : cfg.post_nms_top_n_test;
  }

  AnchorGenerator anchor_generator;
  BoxCoder box_coder = BoxCoder::rpn();
  RPNConfig cfg;
  // Training: anchor matching and sampling (torchvision's member names).
  Matcher proposal_matcher;
  BalancedPositiveNegativeSampler fg_bg_sampler;
  RPNHead head;
};

}  // namespace dr
