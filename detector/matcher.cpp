// See detector/matcher.h; the per-prediction math is kernels/match.cuh.
#include "detector/matcher.h"

#include "kernels/match.h"
#include "nn/dispatch.h"

namespace dr {

Matcher::Matcher(double high, double low, bool allow_low_quality)
    : high_threshold(high), low_threshold(low), allow_low_quality_matches(allow_low_quality) {
  DR_CHECK(low <= high, "Matcher: low_threshold " << low << " should be <= high_threshold " << high);
}

Tensor Matcher::operator()(Context& ctx, const Tensor& q) const {
  check_float("Matcher", "match_quality_matrix", q);
  check_dim("Matcher", "match_quality_matrix", q, 2);
  ctx.check_no_grad("Matcher", {&q});  // matches are indices: nothing to differentiate
  DR_CHECK(q.size(0) > 0, "Matcher: no ground-truth boxes available for one of the images during "
                          "training (match_quality_matrix " << q.str() << ")");
  DR_CHECK(q.size(1) > 0, "Matcher: no proposal boxes available for one of the images during "
                          "training (match_quality_matrix " << q.str() << ")");
  DR_CHECK(!q.is_cuda() || q.dtype() == DType::F32,
           "Matcher: CUDA match_quality_matrix must be f32, got " << q.str());
  const int64_t g = q.size(0), p = q.size(1);
  Tensor matches = ctx.empty_on(q.device(), {p}, DType::I64);
  Tensor best;  // (G) each gt's best quality, only for low-quality matches
  if (allow_low_quality_matches) best = ctx.empty_on(q.device(), {g}, q.dtype());
  if (q.is_cuda()) {
#if DR_CUDA
    float* bp = best.defined() ? best.data<float>() : nullptr;
    if (bp) kern::match_row_max_cuda(bp, q.data<float>(), g, p, ctx.stream());
    kern::match_predictions_cuda(matches.data<int64_t>(), q.data<float>(), bp, g, p,
                                 float(high_threshold), float(low_threshold), ctx.stream());
#else
    DR_FAIL("Matcher: CUDA tensor in a CPU-only build");
#endif
    return matches;
  }
  DR_DISPATCH_FLOAT(q.dtype(), T, {
    T* bp = best.defined() ? best.data<T>() : nullptr;
    if (bp) kern::match_row_max_cpu<T>(bp, q.data<T>(), g, p);
    kern::match_predictions_cpu<T>(matches.data<int64_t>(), q.data<T>(), bp, g, p,
                                   T(high_threshold), T(low_threshold));
  });
  return matches;
}

}  // namespace dr
