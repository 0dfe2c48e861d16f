#include "detector/rpn_loss.h"

#include "detector/select_ops.h"
#include "nn/losses.h"

namespace dr {

Tensor batch_indices(Context& ctx, const std::vector<Tensor>& per_image,
                     const std::vector<int64_t>& offsets, Device device) {
  std::vector<int64_t> all;
  for (size_t i = 0; i < per_image.size(); ++i) {
    Tensor h = ctx.to_host(per_image[i]);
    const int64_t* p = h.data<int64_t>();
    for (int64_t k = 0; k < h.numel(); ++k) all.push_back(p[k] + offsets[i]);
  }
  return ctx.to(Tensor::host_from<int64_t>({int64_t(all.size())}, all), device);
}

RPNLoss rpn_loss(Context& ctx, const Tensor& objectness, const Tensor& deltas,
                 const Tensor& anchors, const std::vector<Tensor>& gt_boxes,
                 const Matcher& matcher, const BalancedPositiveNegativeSampler& sampler,
                 const BoxCoder& box_coder) {
  const int64_t n = objectness.size(0), a = objectness.size(1);
  check_shape("rpn_loss", "deltas", deltas, {n, a, 4});
  check_shape("rpn_loss", "anchors", anchors, {a, 4});
  DR_CHECK(int64_t(gt_boxes.size()) == n,
           "rpn_loss: " << gt_boxes.size() << " target box sets for " << n << " images");
  RPNLoss out;
  std::vector<Tensor> labels, regression;
  for (int64_t i = 0; i < n; ++i) {
    out.targets.push_back(assign_targets_to_anchors(ctx, matcher, anchors, gt_boxes[i]));
    labels.push_back(out.targets.back().labels);
    regression.push_back(box_coder.encode(ctx, out.targets.back().matched_gt_boxes, anchors));
  }
  out.regression_targets = cat0(ctx, regression);  // (N * A, 4)
  out.sampled = sampler(ctx, labels);

  // Indices into the image-major (N * A) rows: every image's positives, then every
  // image's negatives (compute_loss's torch.cat([sampled_pos_inds, sampled_neg_inds]); the
  // order only changes the sum's rounding).
  std::vector<int64_t> offsets;
  std::vector<Tensor> pos, neg;
  for (int64_t i = 0; i < n; ++i) {
    offsets.push_back(i * a);
    pos.push_back(out.sampled[i].pos);
    neg.push_back(out.sampled[i].neg);
  }
  Tensor pos_idx = batch_indices(ctx, pos, offsets, objectness.device());
  Tensor sampled_idx = cat0(ctx, {pos_idx, batch_indices(ctx, neg, offsets, objectness.device())});
  const int64_t num_sampled = sampled_idx.size(0);

  Tensor pred = gather_rows(ctx, deltas.reshape({n * a, 4}), pos_idx);
  Tensor target = gather_rows(ctx, out.regression_targets, pos_idx);
  out.loss_rpn_box_reg = smooth_l1_loss(ctx, pred, target, kSmoothL1Beta, double(num_sampled));

  Tensor logits = gather_rows(ctx, objectness.reshape({n * a, 1}), sampled_idx).reshape({num_sampled});
  Tensor all_labels = cat0(ctx, labels).reshape({n * a, 1});
  Tensor sampled_labels = gather_rows(ctx, all_labels, sampled_idx).reshape({num_sampled});
  out.loss_objectness = binary_cross_entropy_with_logits(ctx, logits, sampled_labels);
  return out;
}

}  // namespace dr
