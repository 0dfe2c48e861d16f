// RegionProposalNetwork: torchvision 0.14 models/detection/rpn.py, inference path.
// Head on every FPN level -> per-anchor objectness and deltas laid out as
// permute_and_flatten does -> decode against the anchors -> per image and level the
// pre_nms_top_n best -> sigmoid -> clip, remove small (min_size 1e-3), score threshold,
// NMS per level (0.7) over all images at once -> the post_nms_top_n best per image.
#pragma once
#include <vector>

#include "detector/anchors.h"
#include "detector/boxes.h"
#include "detector/rpn_head.h"
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
  Output forward(Context& ctx, const ImageList& images, const FeatureMaps& features);

  int64_t pre_nms_top_n() const { return training_ ? cfg.pre_nms_top_n_train : cfg.pre_nms_top_n_test; }
  int64_t post_nms_top_n() const {
    return training_ ? cfg.post_nms_top_n_train : cfg.post_nms_top_n_test;
  }

  AnchorGenerator anchor_generator;
  BoxCoder box_coder = BoxCoder::rpn();
  RPNConfig cfg;
  RPNHead head;
};

}  // namespace dr
