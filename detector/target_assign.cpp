// See detector/target_assign.h; the per-element math is kernels/match.cuh.
#include "detector/target_assign.h"

#include "detector/boxes.h"
#include "kernels/match.h"
#include "nn/dispatch.h"

namespace dr {

namespace {

void check_boxes(const char* op, const char* name, const Tensor& b) {
  check_float(op, name, b);
  DR_CHECK(b.dim() == 2 && b.size(1) == 4, op << ": " << name << " must be (N, 4), got " << b.str());
  DR_CHECK(!b.is_cuda() || b.dtype() == DType::F32,
           op << ": CUDA boxes must be f32, got " << b.str());
}

void check_pair(const char* op, const Tensor& boxes, const Tensor& gt_boxes) {
  check_boxes(op, "boxes", boxes);
  check_boxes(op, "gt_boxes", gt_boxes);
  check_same_device(op, boxes, gt_boxes);
  DR_CHECK(boxes.dtype() == gt_boxes.dtype(),
           op << ": dtypes differ: " << boxes.str() << " vs gt_boxes " << gt_boxes.str());
}

}  // namespace

AnchorTargets assign_targets_to_anchors(Context& ctx, const Matcher& matcher, const Tensor& anchors,
                                        const Tensor& gt_boxes) {
  const char* op = "assign_targets_to_anchors";
  check_pair(op, anchors, gt_boxes);
  const int64_t a = anchors.size(0), g = gt_boxes.size(0);
  AnchorTargets t;
  if (g == 0) {  // background image: every anchor negative
    t.labels = ctx.empty_on(anchors.device(), {a}, anchors.dtype());
    t.matched_gt_boxes = ctx.empty_on(anchors.device(), {a, 4}, anchors.dtype());
    ctx.fill_zero(t.labels);
    ctx.fill_zero(t.matched_gt_boxes);
    return t;
  }
  const Tensor matches = matcher(ctx, box_iou(ctx, gt_boxes, anchors));  // (A)
  t.labels = ctx.empty_on(anchors.device(), {a}, anchors.dtype());
  t.matched_gt_boxes = ctx.empty_on(anchors.device(), {a, 4}, anchors.dtype());
  if (anchors.is_cuda()) {
    DR_IF_CUDA(kern::anchor_targets_cuda(t.labels.data<float>(), t.matched_gt_boxes.data<float>(),
                                         matches.data<int64_t>(), gt_boxes.data<float>(), a,
                                         ctx.stream()));
    return t;
  }
  DR_DISPATCH_FLOAT(anchors.dtype(), T,
                    kern::anchor_targets_cpu<T>(t.labels.data<T>(), t.matched_gt_boxes.data<T>(),
                                                matches.data<int64_t>(), gt_boxes.data<T>(), a));
  return t;
}

ProposalTargets assign_targets_to_proposals(Context& ctx, const Matcher& matcher,
                                            const Tensor& proposals, const Tensor& gt_boxes,
                                            const Tensor& gt_labels) {
  const char* op = "assign_targets_to_proposals";
  check_pair(op, proposals, gt_boxes);
  const int64_t p = proposals.size(0), g = gt_boxes.size(0);
  DR_CHECK(gt_labels.dtype() == DType::I64 && gt_labels.dim() == 1 && gt_labels.size(0) == g,
           op << ": gt_labels must be int64 (" << g << ") like gt_boxes " << gt_boxes.str()
              << ", got " << gt_labels.str());
  check_same_device(op, gt_labels, gt_boxes);
  ProposalTargets t;
  t.matched_idxs = ctx.empty_on(proposals.device(), {p}, DType::I64);
  t.labels = ctx.empty_on(proposals.device(), {p}, DType::I64);
  if (g == 0) {  // background image: every proposal negative, matched to (a zero box) 0
    ctx.fill_zero(t.matched_idxs);
    ctx.fill_zero(t.labels);
    return t;
  }
  const Tensor matches = matcher(ctx, box_iou(ctx, gt_boxes, proposals));  // (P)
  if (proposals.is_cuda()) {
    DR_IF_CUDA(kern::proposal_targets_cuda(t.matched_idxs.data<int64_t>(),
                                           t.labels.data<int64_t>(), matches.data<int64_t>(),
                                           gt_labels.data<int64_t>(), p, ctx.stream()));
    return t;
  }
  kern::proposal_targets_cpu(t.matched_idxs.data<int64_t>(), t.labels.data<int64_t>(),
                             matches.data<int64_t>(), gt_labels.data<int64_t>(), p);
  return t;
}

}  // namespace dr
