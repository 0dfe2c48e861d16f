#include "nn/layers/linear.h"

#include <cmath>

#include "nn/init.h"

namespace dr {

Linear::Linear(Context& ctx, int64_t in_features, int64_t out_features, bool has_bias, DType dtype) {
  DR_CHECK(in_features > 0 && out_features > 0,
           "Linear: features must be positive, got " << in_features << " -> " << out_features);
  weight = ctx.empty({out_features, in_features}, dtype);
  init::kaiming_uniform(ctx, weight, std::sqrt(5.0));
  register_parameter("weight", weight);
  if (has_bias) {
    bias = ctx.empty({out_features}, dtype);
    init::default_bias(ctx, bias, weight);
    register_parameter("bias", bias, true, bias_tags());
  }
}

Tensor Linear::forward(Context& ctx, const Tensor& x) const { return linear(ctx, x, weight, bias); }

}  // namespace dr
