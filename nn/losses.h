// The Faster R-CNN losses with autograd (nn/ops/loss.cpp) and the non-finite check that
// stops training on a NaN/Inf loss or gradient (nn/ops/finite.cpp).
//
// Each loss mirrors the torch function named beside it (torch 1.13, as torchvision 0.14's
// rpn.py compute_loss and roi_heads.py fastrcnn_loss call them) and returns a 0-dim scalar
// (shape {}, like torch's reduced losses) on the inputs' device. CPU: f32 or f64; CUDA: f32.
// Sums are deterministic (fixed order, no float atomics): identical inputs give identical
// bits on every run, on the GPU too. Backward is recorded when ctx.recording() sees an input
// that requires grad and ADDS (+=) into the input gradients; targets, labels and indices
// take no gradient (an op fails if they require one while recording).
//
// Index arguments (labels, rows, classes) are checked on the CPU. On CUDA they are not read
// back (that would synchronize): an out-of-range index gives a NaN loss / NaN gathered
// values, which the training loop's finite check reports, and no gradient.
#pragma once
#include <vector>

#include "nn/context.h"
#include "nn/tensor.h"

namespace dr {

// F.binary_cross_entropy_with_logits(logits, targets) with reduction="mean" (RPN
// objectness). logits and targets: the same shape (K) and dtype; targets usually 0/1.
// K = 0 gives NaN (torch's mean over nothing).
Tensor binary_cross_entropy_with_logits(Context& ctx, const Tensor& logits, const Tensor& targets);

// F.smooth_l1_loss(input, target, beta=beta, reduction="sum") / divisor (RPN and RoI box
// regression; torchvision uses beta = 1/9 and divides by the number of sampled anchors or
// RoIs). input, target: the same shape, usually (P, 4); beta > 0, divisor > 0. P = 0 gives
// 0 and a zero gradient.
Tensor smooth_l1_loss(Context& ctx, const Tensor& input, const Tensor& target, double beta,
                      double divisor);

// F.cross_entropy(logits, labels) with reduction="mean" (RoI classifier): logits (K, C),
// labels (K) int64 in [0, C) (torch's ignore_index is not supported). K = 0 gives NaN.
Tensor cross_entropy(Context& ctx, const Tensor& logits, const Tensor& labels);

// box_regression.reshape(K, -1, 4)[rows, classes] (fastrcnn_loss's per-class box pick):
// box_regression (K, C*4), rows and classes (P) int64 -> (P, 4). Backward adds each output
// gradient into its source element; rows are unique in torchvision's use, and duplicate
// (row, class) pairs still get the sum of their gradients (on CUDA added with atomicAdd,
// so with duplicates the last bits may vary between runs; without them it is exact).
Tensor gather_class_boxes(Context& ctx, const Tensor& box_regression, const Tensor& rows,
                          const Tensor& classes);

// ---- non-finite detection ----
// Number of NaN / +-inf elements in t (f32 or f64 on the CPU, f32 on CUDA; undefined or
// empty -> 0). CUDA: one read-back (a host synchronization).
int64_t count_nonfinite(Context& ctx, const Tensor& t);
// The same for many tensors with one read-back in all (e.g. every loss part, or every
// parameter gradient): result[i] counts ts[i], so the caller can name the culprit.
std::vector<int64_t> count_nonfinite(Context& ctx, const std::vector<Tensor>& ts);
// count_nonfinite(ctx, t) == 0.
bool all_finite(Context& ctx, const Tensor& t);

}  // namespace dr
