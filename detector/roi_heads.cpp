#include "detector/roi_heads.h"

#include <algorithm>

#include "detector/nms.h"
#include "detector/select_ops.h"

namespace dr {

RoIHeads::RoIHeads(Context& ctx, std::unique_ptr<BoxHead> head, int64_t num_classes,
                   const RoIHeadsConfig& c)
    : cfg(c), box_head(std::move(head)) {
  box_predictor = std::make_unique<FastRCNNPredictor>(ctx, box_head->out_channels(), num_classes);
  register_module("box_head", *box_head);
  register_module("box_predictor", *box_predictor);
}

RoIHeads::Output RoIHeads::forward(Context& ctx, const NamedFeatures& features,
                                   const std::vector<Tensor>& proposals,
                                   const std::vector<ImageSize>& image_sizes) {
  Output out;
  out.box_features = box_roi_pool.forward(ctx, features, proposals, image_sizes);
  Tensor h = box_head->forward(ctx, out.box_features);
  std::tie(out.class_logits, out.box_regression) = box_predictor->forward(ctx, h);
  out.detections = postprocess_detections(ctx, out.class_logits, out.box_regression, proposals,
                                          image_sizes);
  return out;
}

std::vector<Detections> RoIHeads::postprocess_detections(
    Context& ctx, const Tensor& class_logits, const Tensor& box_regression,
    const std::vector<Tensor>& proposals, const std::vector<ImageSize>& image_sizes) const {
  const int64_t num_classes = class_logits.size(1);
  Tensor all_props = cat0(ctx, proposals);
  std::vector<Detections> dets(proposals.size());
  if (!all_props.defined() || all_props.size(0) == 0) {
    for (auto& d : dets) {
      d.boxes = ctx.empty({0, 4}, class_logits.dtype());
      d.scores = ctx.empty({0}, class_logits.dtype());
      d.labels = ctx.empty({0}, DType::I64);
    }
    return dets;
  }
  Tensor pred_boxes = box_coder.decode(ctx, box_regression, all_props);  // (K, C, 4)
  Tensor pred_scores = softmax_rows(ctx, class_logits);                  // (K, C)

  // Per image: clip, keep (row, class >= 1) with score > thresh in row-major order (the
  // order torchvision's reshape(-1) gives), remove small; then one class-wise NMS.
  std::vector<Tensor> seg_boxes, seg_scores, seg_labels;
  std::vector<int64_t> offsets = {0};
  int64_t row = 0;
  for (size_t i = 0; i < proposals.size(); ++i) {
    const int64_t k = proposals[i].size(0);
    Tensor boxes = clip_boxes_to_image(ctx, pred_boxes.narrow0(row, k), image_sizes[i].first,
                                       image_sizes[i].second)
                       .reshape({k * num_classes, 4});
    Tensor scores = pred_scores.narrow0(row, k);  // (k, C)
    row += k;
    Tensor idx = score_indices(ctx, scores, cfg.score_thresh, 1, /*inclusive=*/false);
    Tensor b = gather_rows(ctx, boxes, idx);
    Tensor s = gather_rows(ctx, scores.reshape({k * num_classes, 1}), idx);
    Tensor l = index_mod(ctx, idx, num_classes);
    Tensor keep = remove_small_boxes(ctx, b, cfg.min_size);
    seg_boxes.push_back(gather_rows(ctx, b, keep));
    seg_scores.push_back(gather_rows(ctx, s, keep).reshape({keep.size(0)}));
    seg_labels.push_back(gather_rows(ctx, l.reshape({l.size(0), 1}), keep).reshape({keep.size(0)}));
    offsets.push_back(offsets.back() + keep.size(0));
  }
  Tensor all_b = cat0(ctx, seg_boxes), all_s = cat0(ctx, seg_scores), all_l = cat0(ctx, seg_labels);
  SegmentedKeep kept = batched_nms_segments(ctx, all_b, all_s, all_l, offsets, cfg.nms_thresh);
  int64_t at = 0;
  for (size_t i = 0; i < proposals.size(); ++i) {
    const int64_t c = kept.counts[i];
    Tensor idx = kept.indices.narrow0(at, std::min(c, cfg.detections_per_img));
    at += c;
    dets[i].boxes = gather_rows(ctx, all_b, idx);
    dets[i].scores = gather_rows(ctx, all_s.reshape({all_s.size(0), 1}), idx).reshape({idx.size(0)});
    dets[i].labels = gather_rows(ctx, all_l.reshape({all_l.size(0), 1}), idx).reshape({idx.size(0)});
  }
  return dets;
}

}  // namespace dr
