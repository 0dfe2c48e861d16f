// count_nonfinite / all_finite: see nn/losses.h. CUDA tensors add into one device
// counter per tensor and are read back together (one synchronization per call).
#include "kernels/finite.h"
#include "nn/dispatch.h"
#include "nn/losses.h"

namespace dr {

std::vector<int64_t> count_nonfinite(Context& ctx, const std::vector<Tensor>& ts) {
  std::vector<int64_t> counts(ts.size(), 0);
  bool any_cuda = false;
  for (size_t i = 0; i < ts.size(); ++i) {
    const Tensor& t = ts[i];
    if (!t.defined()) continue;
    check_float("count_nonfinite", "tensor", t);
    if (t.is_cuda()) {
      DR_CHECK(t.dtype() == DType::F32 && t.device() == ctx.device(),
               "count_nonfinite: tensor " << i << " " << t.str()
                                          << " is not f32 on the context's device "
                                          << ctx.device().str());
      any_cuda = true;
      continue;
    }
    DR_DISPATCH_FLOAT(t.dtype(), T,
                      counts[i] = kern::count_nonfinite_cpu<T>(t.data<T>(), t.numel()));
  }
  if (!any_cuda) return counts;
#if DR_CUDA
  Tensor dev = ctx.zeros({int64_t(ts.size())}, DType::I64);
  auto* dp = reinterpret_cast<unsigned long long*>(dev.data<int64_t>());
  for (size_t i = 0; i < ts.size(); ++i)
    if (ts[i].defined() && ts[i].is_cuda())
      kern::count_nonfinite_cuda(dp + i, ts[i].data<float>(), ts[i].numel(), ctx.stream());
  Tensor host = ctx.to_host(dev);
  for (size_t i = 0; i < ts.size(); ++i)
    if (ts[i].defined() && ts[i].is_cuda()) counts[i] = host.data<int64_t>()[i];
#else
  DR_FAIL("count_nonfinite: CUDA tensor in a CPU-only build");
#endif
  return counts;
}

int64_t count_nonfinite(Context& ctx, const Tensor& t) {
  return count_nonfinite(ctx, std::vector<Tensor>{t})[0];
}

bool all_finite(Context& ctx, const Tensor& t) { return count_nonfinite(ctx, t) == 0; }

}  // namespace dr
