#include "detector/rpn.h"

#include <algorithm>

#include "detector/nms.h"
#include "detector/select_ops.h"
#include "detector/topk.h"

namespace dr {

RegionProposalNetwork::RegionProposalNetwork(Context& ctx, const AnchorGenerator& anchors,
                                             int64_t in_channels, const RPNConfig& c)
    : anchor_generator(anchors),
      cfg(c),
      head(ctx, in_channels, anchors.num_anchors_per_location().at(0), c.conv_depth) {
  for (int64_t a : anchors.num_anchors_per_location())
    DR_CHECK(a == anchors.num_anchors_per_location()[0],
             "RPN: the shared head needs the same anchor count on every level");
  register_module("head", head);
}

RegionProposalNetwork::Output RegionProposalNetwork::forward(Context& ctx, const ImageList& images,
                                                             const std::vector<Tensor>& features) {
  Output out;
  const int64_t n = images.tensors.size(0);
  out.head = head.forward(ctx, features);

  // Per-anchor layout (torchvision concat_box_prediction_layers): level by level,
  // (y, x, anchor) within a level.
  std::vector<std::pair<int64_t, int64_t>> feature_sizes;
  std::vector<int64_t> per_level;
  std::vector<Tensor> logits, deltas;
  for (size_t l = 0; l < features.size(); ++l) {
    feature_sizes.emplace_back(features[l].size(2), features[l].size(3));
    logits.push_back(permute_flatten(ctx, out.head.objectness[l], 1));  // (N, HWA, 1)
    deltas.push_back(permute_flatten(ctx, out.head.deltas[l], 4));      // (N, HWA, 4)
    per_level.push_back(logits.back().size(1));
  }
  int64_t total = 0;
  for (int64_t a : per_level) total += a;
  out.anchors = anchor_generator.forward(ctx, images.tensors.size(2), images.tensors.size(3),
                                         feature_sizes, images.tensors.dtype());
  DR_CHECK(out.anchors.size(0) == total, "RPN: " << out.anchors.size(0) << " anchors for " << total
                                                 << " head outputs");
  // Levels are concatenated per image: image-major rows (N, A_total, C).
  std::vector<Tensor> obj_rows, delta_rows;
  for (int64_t i = 0; i < n; ++i)
    for (size_t l = 0; l < features.size(); ++l) {
      obj_rows.push_back(logits[l].reshape({n * per_level[l], 1}).narrow0(i * per_level[l], per_level[l]));
      delta_rows.push_back(deltas[l].reshape({n * per_level[l], 4}).narrow0(i * per_level[l], per_level[l]));
    }
  out.objectness = cat0(ctx, obj_rows).reshape({n, total});
  out.deltas = cat0(ctx, delta_rows).reshape({n, total, 4});

  // Decode every image's deltas against the shared anchors.
  std::vector<Tensor> tiled(static_cast<size_t>(n), out.anchors);
  Tensor proposals = box_coder.decode(ctx, out.deltas.reshape({n * total, 4}), cat0(ctx, tiled))
                         .reshape({n, total, 4});

  // Best pre_nms_top_n per image and level, then their level ids (a fixed pattern).
  const int64_t top_n = pre_nms_top_n();
  Tensor top_idx = top_n_per_level(ctx, out.objectness, per_level, top_n);  // (N, K)
  const int64_t k = top_idx.size(1);
  std::vector<int64_t> lvl_host;
  for (size_t l = 0; l < per_level.size(); ++l)
    lvl_host.insert(lvl_host.end(), std::min(top_n, per_level[l]), int64_t(l));
  Tensor lvl_all = ctx.to(Tensor::host_from<int64_t>({k}, lvl_host), ctx.device());
  Tensor scores = sigmoid(ctx, gather_rows(ctx, out.objectness.reshape({n, total, 1}), top_idx))
                      .reshape({n * k});
  Tensor boxes = gather_rows(ctx, proposals, top_idx).reshape({n * k, 4});

  // Per image: clip, remove small, score threshold; then one NMS over all images.
  std::vector<Tensor> seg_boxes, seg_scores, seg_lvls;
  std::vector<int64_t> offsets = {0};
  for (int64_t i = 0; i < n; ++i) {
    const ImageSize& sz = images.image_sizes[i];
    Tensor b = clip_boxes_to_image(ctx, boxes.narrow0(i * k, k), sz.first, sz.second);
    Tensor keep = remove_small_boxes(ctx, b, cfg.min_size);
    b = gather_rows(ctx, b, keep);
    Tensor s = gather_rows(ctx, scores.narrow0(i * k, k).reshape({k, 1}), keep);  // (k', 1)
    Tensor lv = gather_rows(ctx, lvl_all.reshape({k, 1}), keep);
    if (cfg.score_thresh > 0) {
      Tensor pass = score_indices(ctx, s, cfg.score_thresh, 0, /*inclusive=*/true);
      b = gather_rows(ctx, b, pass);
      s = gather_rows(ctx, s, pass);
      lv = gather_rows(ctx, lv, pass);
    }
    seg_boxes.push_back(b);
    seg_scores.push_back(s.reshape({s.size(0)}));
    seg_lvls.push_back(lv.reshape({lv.size(0)}));
    offsets.push_back(offsets.back() + b.size(0));
  }
  Tensor all_boxes = cat0(ctx, seg_boxes), all_scores = cat0(ctx, seg_scores);
  SegmentedKeep kept = batched_nms_segments(ctx, all_boxes, all_scores, cat0(ctx, seg_lvls),
                                            offsets, cfg.nms_thresh);
  int64_t at = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = kept.counts[i];
    Tensor idx = kept.indices.narrow0(at, std::min(c, post_nms_top_n()));
    at += c;
    out.boxes.push_back(gather_rows(ctx, all_boxes, idx));
    out.scores.push_back(gather_rows(ctx, all_scores.reshape({all_scores.size(0), 1}), idx)
                             .reshape({idx.size(0)}));
  }
  return out;
}

}  // namespace dr
