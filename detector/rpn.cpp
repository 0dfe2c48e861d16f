#include "detector/rpn.h"

#include <algorithm>

#include "detector/nms.h"
#include "detector/segments.h"
#include "detector/select_ops.h"
#include "detector/topk.h"

namespace dr {

RegionProposalNetwork::RegionProposalNetwork(Context& ctx, const AnchorGenerator& anchors,
                                             int64_t in_channels, const RPNConfig& c)
    : anchor_generator(anchors),
      cfg(c),
      proposal_matcher(c.fg_iou_thresh, c.bg_iou_thresh, /*allow_low_quality=*/true),
      fg_bg_sampler(c.batch_size_per_image, c.positive_fraction),
      head(ctx, in_channels, anchors.num_anchors_per_location().at(0), c.conv_depth) {
  for (int64_t a : anchors.num_anchors_per_location())
    DR_CHECK(a == anchors.num_anchors_per_location()[0],
             "RPN: the shared head needs the same anchor count on every level");
  register_module("head", head);
}

RegionProposalNetwork::Output RegionProposalNetwork::forward(Context& ctx, const ImageList& images,
                                                             const FeatureMaps& maps) {
  Output out;
  const int64_t n = images.tensors.size(0);
  const std::vector<Tensor> features = map_tensors(maps);
  out.head = head.forward(ctx, features);

  // Per-anchor layout (torchvision concat_box_prediction_layers): level by level,
  // (y, x, anchor) within a level.
  std::vector<ImageSize> feature_sizes;
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

  // Decode every image's deltas against the shared anchors. Proposals are not
  // differentiated (torchvision decodes pred_bbox_deltas.detach() and filters detached
  // objectness): the selection below works on detached views.
  const Tensor objectness = out.objectness.detach(), rel_codes = out.deltas.detach();
  std::vector<Tensor> tiled(static_cast<size_t>(n), out.anchors);
  Tensor proposals = box_coder.decode(ctx, rel_codes.reshape({n * total, 4}), cat0(ctx, tiled))
                         .reshape({n, total, 4});

  // Best pre_nms_top_n per image and level, then their level ids (a fixed pattern, the
  // same for every image).
  const int64_t top_n = pre_nms_top_n();
  Tensor top_idx = top_n_per_level(ctx, objectness, per_level, top_n);  // (N, K)
  const int64_t k = top_idx.size(1);
  std::vector<int64_t> lvl_host;
  for (int64_t i = 0; i < n; ++i)
    for (size_t l = 0; l < per_level.size(); ++l)
      lvl_host.insert(lvl_host.end(), std::min(top_n, per_level[l]), int64_t(l));
  Tensor lvl_all = ctx.to(Tensor::host_from<int64_t>({n * k, 1}, lvl_host), ctx.device());
  Tensor scores = sigmoid(ctx, gather_rows(ctx, objectness.reshape({n, total, 1}), top_idx))
                      .reshape({n * k});
  Tensor boxes = gather_rows(ctx, proposals, top_idx).reshape({n * k, 4});

  // Every image at once (image i is rows [i k, (i+1) k)): clip to its size, remove small
  // boxes and (score_thresh > 0) low scores with one count read-back, then one NMS.
  std::vector<int64_t> rows_at;
  for (int64_t i = 0; i <= n; ++i) rows_at.push_back(i * k);
  boxes = clip_boxes_segments(ctx, boxes, rows_at, images.image_sizes);
  SegmentedKeep valid = filter_boxes_segments(ctx, boxes, cfg.score_thresh > 0 ? scores : Tensor(),
                                              rows_at, cfg.min_size, cfg.score_thresh,
                                              /*strict=*/false);
  Tensor all_boxes = gather_rows(ctx, boxes, valid.indices);
  Tensor all_scores = gather_rows(ctx, scores.reshape({n * k, 1}), valid.indices)
                          .reshape({valid.indices.size(0)});
  Tensor all_lvls = gather_rows(ctx, lvl_all, valid.indices).reshape({valid.indices.size(0)});
  std::vector<int64_t> offsets = {0};
  for (int64_t c : valid.counts) offsets.push_back(offsets.back() + c);
  SegmentedKeep kept = batched_nms_segments(ctx, all_boxes, all_scores, all_lvls, offsets,
                                            cfg.nms_thresh);
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
