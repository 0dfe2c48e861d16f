// clip_grad_norm / grad_norm: see train/grad_clip.h. The per-tensor sums of squares and
// the scaling are kernels/optim.{h,cuh}; this file combines the per-tensor norms as
// torch does (each norm rounded to the gradients' dtype, then the norm of those).
#include "train/grad_clip.h"

#include <cmath>
#include <cstdint>
#include <limits>

#include "kernels/optim.h"
#include "nn/dispatch.h"

namespace dr::train {

namespace {

std::vector<Tensor> defined_grads(Context& ctx, const std::vector<Tensor*>& params) {
  std::vector<Tensor> grads;
  for (const Tensor* p : params) {
    DR_CHECK(p, "clip_grad_norm: null parameter");
    Tensor g = p->grad();
    if (!g.defined()) continue;
    check_float("clip_grad_norm", "gradient", g);
    DR_CHECK(g.device() == ctx.device(), "clip_grad_norm: gradient " << g.str()
                                             << " is not on the context's device "
                                             << ctx.device().str());
    if (!grads.empty())
      DR_CHECK(g.dtype() == grads[0].dtype(), "clip_grad_norm: gradients of different dtypes ("
                                                  << grads[0].str() << ", " << g.str() << ")");
    grads.push_back(g);
  }
  return grads;
}

template <class T> double norm_cpu(const std::vector<Tensor>& grads, double max_norm, bool clip) {
  double sum = 0;  // sum over tensors of (per-tensor norm, rounded to T)^2
  for (const Tensor& g : grads) {
    const double n = kern::norm_from_sumsq<T>(kern::sum_squares_cpu<T>(g.data<T>(), g.numel()));
    sum += n * n;
  }
  const T total = kern::norm_from_sumsq<T>(sum);
  if (clip) {
    const T coef = kern::clip_coef<T>(total, T(max_norm));
    if (!(coef >= T(1)))
      for (const Tensor& g : grads) kern::clip_scale_cpu<T>(g.data<T>(), g.numel(), coef);
  }
  return double(total);
}

#if DR_CUDA
double norm_cuda(Context& ctx, const std::vector<Tensor>& grads, double max_norm, bool clip) {
  const int64_t num = static_cast<int64_t>(grads.size());
  // Device table: num gradient addresses, then num sizes.
  Tensor table = Tensor::host({2 * num}, DType::I64);
  int64_t* tp = table.data<int64_t>();
  for (int64_t i = 0; i < num; ++i) {
    tp[i] = static_cast<int64_t>(reinterpret_cast<intptr_t>(grads[i].data<float>()));
    tp[num + i] = grads[i].numel();
  }
  Tensor dtable = ctx.to(table, ctx.device());
  auto* ptrs = reinterpret_cast<float* const*>(dtable.data<int64_t>());
  const int64_t* sizes = dtable.data<int64_t>() + num;
  Tensor partials = ctx.empty({num * kern::kNormBlocks}, DType::F64);
  Tensor out = ctx.empty({2}, DType::F32);  // total, clip coefficient
  kern::grad_norm_cuda(out.data<float>(), partials.data<double>(), ptrs, sizes, num,
                       float(max_norm), ctx.stream());
  if (clip) kern::clip_scale_cuda(ptrs, sizes, num, out.data<float>() + 1, ctx.stream());
  return double(ctx.to_host(out).data<float>()[0]);
}
#endif

double norm_impl(Context& ctx, const std::vector<Tensor*>& params, double max_norm, bool clip) {
  std::vector<Tensor> grads = defined_grads(ctx, params);
  if (grads.empty()) return 0.0;
  if (ctx.is_cuda()) {
    DR_CHECK(grads[0].dtype() == DType::F32, "clip_grad_norm: CUDA gradients must be f32, got "
                                                 << grads[0].str());
    DR_IF_CUDA(return norm_cuda(ctx, grads, max_norm, clip));
  }
  DR_DISPATCH_FLOAT(grads[0].dtype(), T, return norm_cpu<T>(grads, max_norm, clip));
  return 0.0;
}

}  // namespace

double clip_grad_norm(Context& ctx, const std::vector<Tensor*>& params, double max_norm) {
  DR_CHECK(max_norm >= 0, "clip_grad_norm: max_norm must be >= 0, got " << max_norm);
  return norm_impl(ctx, params, max_norm, /*clip=*/true);
}

double grad_norm(Context& ctx, const std::vector<Tensor*>& params) {
  return norm_impl(ctx, params, std::numeric_limits<double>::infinity(), /*clip=*/false);
}

}  // namespace dr::train
