// Parameter initializers with torch's formulas (torch.nn.init), drawing from the
// Context's seeded Rng. Tensors may live on any device; values are made on the host.
#pragma once
#include "nn/context.h"

namespace dr::init {

// fan_in = size(1) * receptive field, fan_out = size(0) * receptive field (torch's rule).
int64_t fan_in(const Tensor& w);
int64_t fan_out(const Tensor& w);

void constant(Context& ctx, const Tensor& t, double value);
void uniform(Context& ctx, const Tensor& t, double lo, double hi);
void normal(Context& ctx, const Tensor& t, double mean, double stddev);
// torch.nn.init.kaiming_uniform_(w, a): bound = sqrt(6 / ((1 + a^2) * fan_in)).
// a = sqrt(5) is torch's default Conv2d/Linear weight init.
void kaiming_uniform(Context& ctx, const Tensor& w, double a);
// torch.nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu"): torchvision ResNet.
void kaiming_normal_fan_out(Context& ctx, const Tensor& w);
// torch's default Conv2d/Linear bias init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) of the weight.
void default_bias(Context& ctx, const Tensor& b, const Tensor& w);

}  // namespace dr::init
