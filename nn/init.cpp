#include "nn/init.h"

#include <cmath>

namespace dr::init {

int64_t fan_in(const Tensor& w) {
  DR_CHECK(w.dim() >= 2, "fan_in of " << w.str() << " needs at least 2 dims");
  return w.numel() / w.size(0);
}

int64_t fan_out(const Tensor& w) {
  DR_CHECK(w.dim() >= 2, "fan_out of " << w.str() << " needs at least 2 dims");
  return w.numel() / w.size(1);
}

template <class F>
static void fill_with(Context& ctx, const Tensor& t, F draw) {
  Tensor h = Tensor::host(t.shape(), t.dtype());
  for (int64_t i = 0; i < h.numel(); ++i) {
    double v = draw();
    if (t.dtype() == DType::F64)
      h.data<double>()[i] = v;
    else
      h.data<float>()[i] = static_cast<float>(v);
  }
  ctx.copy(t, h);
}

void constant(Context& ctx, const Tensor& t, double value) {
  fill_with(ctx, t, [&] { return value; });
}

void uniform(Context& ctx, const Tensor& t, double lo, double hi) {
  fill_with(ctx, t, [&] { return ctx.rng().uniform(lo, hi); });
}

void normal(Context& ctx, const Tensor& t, double mean, double stddev) {
  fill_with(ctx, t, [&] { return ctx.rng().normal(mean, stddev); });
}

void kaiming_uniform(Context& ctx, const Tensor& w, double a) {
  double bound = std::sqrt(6.0 / ((1.0 + a * a) * static_cast<double>(fan_in(w))));
  uniform(ctx, w, -bound, bound);
}

void kaiming_normal_fan_out(Context& ctx, const Tensor& w) {
  normal(ctx, w, 0.0, std::sqrt(2.0 / static_cast<double>(fan_out(w))));
}

void default_bias(Context& ctx, const Tensor& b, const Tensor& w) {
  double bound = 1.0 / std::sqrt(static_cast<double>(fan_in(w)));
  uniform(ctx, b, -bound, bound);
}

}  // namespace dr::init
