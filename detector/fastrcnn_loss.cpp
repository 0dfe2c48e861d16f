#include "detector/fastrcnn_loss.h"

#include "detector/rpn_loss.h"
#include "detector/select_ops.h"
#include "detector/target_assign.h"
#include "nn/losses.h"

namespace dr {

TrainingSamples select_training_samples(Context& ctx, const std::vector<Tensor>& proposals,
                                        const std::vector<Target>& targets, const Matcher& matcher,
                                        const BalancedPositiveNegativeSampler& sampler,
                                        const BoxCoder& box_coder) {
  DR_CHECK(proposals.size() == targets.size(),
           "select_training_samples: " << proposals.size() << " proposal sets for "
                                       << targets.size() << " targets");
  TrainingSamples out;
  std::vector<Tensor> labels, matched_idxs;
  for (size_t i = 0; i < proposals.size(); ++i) {
    const Target& t = targets[i];
    DR_CHECK(t.boxes.defined() && t.labels.defined() && t.labels.dtype() == DType::I64 &&
                 t.boxes.dim() == 2 && t.boxes.size(1) == 4 && t.labels.numel() == t.boxes.size(0),
             "select_training_samples: target " << i << " needs boxes (G, 4) and int64 labels (G), got "
                                                << t.boxes.str() << " and " << t.labels.str());
    // add_gt_proposals: the ground truth joins the candidates, so every object has at
    // least one perfectly matching RoI.
    out.with_gt.push_back(cat0(ctx, {proposals[i], t.boxes}));
    ProposalTargets pt = assign_targets_to_proposals(ctx, matcher, out.with_gt.back(), t.boxes, t.labels);
    labels.push_back(pt.labels);
    matched_idxs.push_back(pt.matched_idxs);
  }
  out.sampled = sampler(ctx, labels);
  std::vector<Tensor> sampled_labels, targets_per_image;
  for (size_t i = 0; i < proposals.size(); ++i) {
    const Tensor& idx = out.sampled[i].both;  // ascending: where(pos | neg)
    Tensor boxes = gather_rows(ctx, out.with_gt[i], idx);
    out.proposals.push_back(boxes);
    sampled_labels.push_back(gather_rows(ctx, labels[i].reshape({labels[i].numel(), 1}), idx)
                                 .reshape({idx.numel()}));
    Tensor matched = gather_rows(ctx, matched_idxs[i].reshape({matched_idxs[i].numel(), 1}), idx)
                         .reshape({idx.numel()});
    // An image without boxes matches everything to index 0 of a zero box (torchvision
    // substitutes torch.zeros((1, 4))).
    const Tensor& gt = targets[i].boxes;
    Tensor gt_or_zero = gt.size(0) ? gt : ctx.zeros({1, 4}, boxes.dtype());
    targets_per_image.push_back(box_coder.encode(ctx, gather_rows(ctx, gt_or_zero, matched), boxes));
  }
  out.labels = cat0(ctx, sampled_labels);
  out.regression_targets = cat0(ctx, targets_per_image);
  return out;
}

FastRCNNLoss fastrcnn_loss(Context& ctx, const Tensor& class_logits, const Tensor& box_regression,
                           const Tensor& labels, const Tensor& regression_targets) {
  const int64_t k = class_logits.size(0);
  check_shape("fastrcnn_loss", "labels", labels, {k});
  check_shape("fastrcnn_loss", "regression_targets", regression_targets, {k, 4});
  FastRCNNLoss out;
  out.loss_classifier = cross_entropy(ctx, class_logits, labels);
  // Positives (label > 0) and their classes: the labels are small and already known on
  // the host side of the sampler, so one read-back here costs nothing extra.
  Tensor host = ctx.to_host(labels);
  std::vector<int64_t> rows, classes;
  for (int64_t r = 0; r < k; ++r)
    if (host.data<int64_t>()[r] > 0) {
      rows.push_back(r);
      classes.push_back(host.data<int64_t>()[r]);
    }
  const int64_t p = int64_t(rows.size());
  Tensor rows_t = ctx.to(Tensor::host_from<int64_t>({p}, rows), labels.device());
  Tensor classes_t = ctx.to(Tensor::host_from<int64_t>({p}, classes), labels.device());
  Tensor pred = gather_class_boxes(ctx, box_regression, rows_t, classes_t);  // (P, 4)
  Tensor target = gather_rows(ctx, regression_targets, rows_t);
  out.loss_box_reg = smooth_l1_loss(ctx, pred, target, kSmoothL1Beta, double(k));
  return out;
}

}  // namespace dr
