// Gradient clipping by global norm: torch.nn.utils.clip_grad_norm_(params, max_norm)
// with norm_type 2 and error_if_nonfinite False (torch 1.13):
//   total = || (||g_1||, ..., ||g_k||) ||     over the parameters that have a gradient
//   clip_coef = max_norm / (total + 1e-6);  when clip_coef < 1 every g_i *= clip_coef
// and the total norm is returned. A non-finite total gives a NaN (or 0) coefficient and
// scales the gradients by it, as torch does; callers check the returned norm.
//
// The norm is deterministic on both backends (fixed reduction order, sums of squares in
// double, no atomics), so resumed runs can be compared bit for bit. CPU and CUDA agree to
// float rounding of the double sums (usually exactly).
#pragma once
#include <vector>

#include "nn/context.h"
#include "nn/tensor.h"

namespace dr::train {

// Parameters whose grad() is undefined are skipped (torch: p.grad is None); with none
// left the result is 0. All gradients must share one dtype and ctx's device.
// max_norm must be >= 0. Returns the total norm before clipping.
double clip_grad_norm(Context& ctx, const std::vector<Tensor*>& params, double max_norm);
// The same total norm, without touching the gradients (for logging).
double grad_norm(Context& ctx, const std::vector<Tensor*>& params);

}  // namespace dr::train
