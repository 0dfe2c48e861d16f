#include "detector/roi_heads.h"

#include <algorithm>
#include <limits>

#include "detector/nms.h"
#include "detector/segments.h"
#include "detector/select_ops.h"

namespace dr {

RoIHeads::RoIHeads(Context& ctx, std::unique_ptr<BoxHead> head, int64_t num_classes,
                   const RoIHeadsConfig& c)
    : cfg(c),
      proposal_matcher(c.fg_iou_thresh, c.bg_iou_thresh, /*allow_low_quality=*/false),
      fg_bg_sampler(c.batch_size_per_image, c.positive_fraction),
      box_head(std::move(head)) {
  box_predictor = std::make_unique<FastRCNNPredictor>(ctx, box_head->out_channels(), num_classes);
  register_module("box_head", *box_head);
  register_module("box_predictor", *box_predictor);
}

RoIHeads::Output RoIHeads::forward(Context& ctx, const FeatureMaps& features,
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
  const int64_t rows = all_props.size(0);
  Tensor pred_boxes = box_coder.decode(ctx, box_regression, all_props);  // (K, C, 4)
  // (K, C); the background column set to -inf so that the score filter never keeps it
  // (torchvision drops that column before thresholding).
  Tensor pred_scores = fill_columns(ctx, softmax_rows(ctx, class_logits), 1,
                                    -std::numeric_limits<double>::infinity());

  // Every image at once (image i is proposal rows [rows_at[i], rows_at[i+1])): clip to its
  // size, then keep (row, class >= 1) entries with score > thresh and both sides >=
  // min_size, in row-major order (the order torchvision's reshape(-1) gives), with one
  // count read-back; then one class-wise NMS.
  std::vector<int64_t> rows_at = {0};
  for (const Tensor& p : proposals) rows_at.push_back(rows_at.back() + p.size(0));
  Tensor boxes = clip_boxes_segments(ctx, pred_boxes, rows_at, image_sizes)
                     .reshape({rows * num_classes, 4});
  std::vector<int64_t> flat_at;
  for (int64_t r : rows_at) flat_at.push_back(r * num_classes);
  SegmentedKeep valid = filter_boxes_segments(ctx, boxes, pred_scores.reshape({rows * num_classes}),
                                              flat_at, cfg.min_size, cfg.score_thresh,
                                              /*strict=*/true);
  const int64_t kept_rows = valid.indices.size(0);
  Tensor all_b = gather_rows(ctx, boxes, valid.indices);
  Tensor all_s = gather_rows(ctx, pred_scores.reshape({rows * num_classes, 1}), valid.indices)
                     .reshape({kept_rows});
  Tensor all_l = index_mod(ctx, valid.indices, num_classes);  // flat (row, class) -> class
  std::vector<int64_t> offsets = {0};
  for (int64_t c : valid.counts) offsets.push_back(offsets.back() + c);
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
