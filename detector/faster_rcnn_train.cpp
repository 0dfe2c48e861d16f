// FasterRCNN::forward_train: generalized_rcnn.py GeneralizedRCNN.forward in training mode,
// written out in the order the data flows: transform (images and boxes together) ->
// backbone -> RPN (proposals from detached outputs; objectness and box losses on the
// sampled anchors) -> RoI heads (proposals + ground truth, sampled, pooled, classified;
// classifier and box losses) -> the four losses and their sum.
#include <sstream>

#include "detector/faster_rcnn.h"
#include "nn/functional.h"

namespace dr {

// generalized_rcnn.py: "All bounding boxes should have positive height and width. Found
// invalid box ... for target at index ..." (checked after the transform, as torchvision).
static void check_boxes_not_degenerate(Context& ctx, const std::vector<Tensor>& boxes) {
  for (size_t i = 0; i < boxes.size(); ++i) {
    Tensor h = ctx.to(boxes[i], Device::cpu());
    for (int64_t r = 0; r < h.size(0); ++r) {
      double b[4];
      for (int k = 0; k < 4; ++k)
        b[k] = h.dtype() == DType::F64 ? h.data<double>()[4 * r + k] : h.data<float>()[4 * r + k];
      DR_CHECK(b[2] > b[0] && b[3] > b[1],
               "FasterRCNN: all bounding boxes should have positive height and width; image "
                   << i << " has box " << r << " = [" << b[0] << ", " << b[1] << ", " << b[2]
                   << ", " << b[3] << "] (after resizing)");
    }
  }
}

FasterRCNN::TrainOutput FasterRCNN::forward_train(Context& ctx, const std::vector<Tensor>& images,
                                                  const std::vector<Target>& targets) {
  DR_CHECK(!images.empty(), "FasterRCNN.forward_train: no images");
  DR_CHECK(images.size() == targets.size(), "FasterRCNN.forward_train: " << images.size()
                                                << " images but " << targets.size() << " targets");
  TrainingScope scope(ctx, *this);  // training mode, empty tape, recording on
  TrainOutput t;
  std::vector<Tensor> boxes;
  for (size_t i = 0; i < images.size(); ++i) {
    const Tensor& im = images[i];
    DR_CHECK(im.dim() == 3 && im.size(0) == 3,
             "FasterRCNN: images must be (3, H, W) floats in [0, 1], got " << im.str());
    const Target& tg = targets[i];
    DR_CHECK(tg.boxes.defined() && tg.boxes.dim() == 2 && tg.boxes.size(1) == 4 &&
                 tg.labels.defined() && tg.labels.dtype() == DType::I64 &&
                 tg.labels.numel() == tg.boxes.size(0) && tg.boxes.dtype() == im.dtype(),
             "FasterRCNN: target " << i << " needs boxes (G, 4) of the image's dtype and int64 "
                                   "labels (G), got " << tg.boxes.str() << " and " << tg.labels.str());
    boxes.push_back(tg.boxes);
  }

  // Transform: normalize, resize (boxes with their images), pad into one batch.
  t.images = transform.forward(ctx, images, &boxes);
  check_boxes_not_degenerate(ctx, boxes);
  for (size_t i = 0; i < boxes.size(); ++i) t.targets.push_back({boxes[i], targets[i].labels});

  // Backbone and RPN: proposals for the RoI heads, losses on sampled anchors.
  t.features = backbone.forward(ctx, t.images.tensors);
  t.rpn = rpn.forward(ctx, t.images, t.features);
  t.rpn_loss = rpn_loss(ctx, t.rpn.objectness, t.rpn.deltas, t.rpn.anchors, boxes,
                        rpn.proposal_matcher, rpn.fg_bg_sampler, rpn.box_coder);

  // RoI heads: sample RoIs among proposals + ground truth, pool, classify, losses.
  t.samples = select_training_samples(ctx, t.rpn.boxes, t.targets, roi_heads.proposal_matcher,
                                      roi_heads.fg_bg_sampler, roi_heads.box_coder);
  Tensor pooled = roi_heads.box_roi_pool.forward(ctx, t.features, t.samples.proposals,
                                                 t.images.image_sizes);
  Tensor h = roi_heads.box_head->forward(ctx, pooled);
  std::tie(t.class_logits, t.box_regression) = roi_heads.box_predictor->forward(ctx, h);
  t.roi_loss = fastrcnn_loss(ctx, t.class_logits, t.box_regression, t.samples.labels,
                             t.samples.regression_targets);

  t.losses = {{"loss_classifier", t.roi_loss.loss_classifier},
              {"loss_box_reg", t.roi_loss.loss_box_reg},
              {"loss_objectness", t.rpn_loss.loss_objectness},
              {"loss_rpn_box_reg", t.rpn_loss.loss_rpn_box_reg}};
  t.total = t.losses[0].second;
  for (size_t k = 1; k < t.losses.size(); ++k) t.total = add(ctx, t.total, t.losses[k].second);
  return t;
}

}  // namespace dr
