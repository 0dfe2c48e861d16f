// Detection glue on CPU and CUDA: laying out head outputs per anchor, gathering rows,
// concatenation, sigmoid/softmax, and compaction of scores above a threshold. Mirrors the
// tensor manipulations inside torchvision's rpn.py and roi_heads.py.
// Autograd: permute_flatten, gather_rows (to x) and cat0 record their backward (the
// training path carries head outputs through them to the losses); the others are not
// differentiated in Faster R-CNN (scores and proposals are detached) and throw when they
// meet a tensor requiring a gradient while recording (Context::check_no_grad).
#pragma once
#include <vector>

#include "nn/context.h"

namespace dr {

// rpn.permute_and_flatten: (N, A*C, H, W) -> (N, H*W*A, C). Backward to x.
Tensor permute_flatten(Context& ctx, const Tensor& x, int64_t c);
// Rows of x selected by idx: x (R, D) with idx (K) -> (K, D); or per batch entry,
// x (B, R, D) with idx (B, K) -> (B, K, D). f32/f64/i64. Backward scatter-adds into x's
// rows (f32/f64; CUDA with atomicAdd).
Tensor gather_rows(Context& ctx, const Tensor& x, const Tensor& idx);
// Concatenation along dim 0 (all other dims equal). Empty list -> undefined. Backward
// gives each part requiring a gradient its rows of dy.
Tensor cat0(Context& ctx, const std::vector<Tensor>& parts);
Tensor sigmoid(Context& ctx, const Tensor& x);
// Softmax over the last dim of (rows, cols).
Tensor softmax_rows(Context& ctx, const Tensor& x);
// Flat indices i (ascending, int64) of scores (rows, cols) with column >= first_col and
// score > thr (>= when inclusive). On CUDA the count is read back (one host sync).
Tensor score_indices(Context& ctx, const Tensor& scores, double thr, int64_t first_col,
                     bool inclusive);
// idx % m for int64 indices (flat (row, class) index -> class label).
Tensor index_mod(Context& ctx, const Tensor& idx, int64_t m);
// In place: columns [0, ncols) of x (rows, cols) set to value (e.g. the background
// column's score to -inf so that a threshold filter never keeps it). Returns x.
Tensor fill_columns(Context& ctx, const Tensor& x, int64_t ncols, double value);

}  // namespace dr
