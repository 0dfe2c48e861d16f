// See detector/topk.h.
#include "detector/topk.h"

#include <algorithm>

#include "kernels/topk.h"
#include "nn/dispatch.h"

namespace dr {

Tensor top_n_per_level(Context& ctx, const Tensor& objectness,
                       const std::vector<int64_t>& num_anchors_per_level, int64_t pre_nms_top_n) {
  check_float("top_n_per_level", "objectness", objectness);
  check_dim("top_n_per_level", "objectness", objectness, 2);
  // torchvision ranks objectness.detach() (filter_proposals).
  ctx.check_no_grad("top_n_per_level", {&objectness});
  int64_t a = 0, ktot = 0;
  for (int64_t s : num_anchors_per_level) {
    DR_CHECK(s >= 0, "top_n_per_level: negative level size " << s);
    a += s;
    ktot += std::min(pre_nms_top_n, s);
  }
  DR_CHECK(a == objectness.size(1) && pre_nms_top_n >= 0,
           "top_n_per_level: level sizes sum to " << a << " but objectness is " << objectness.str());
  const int64_t n = objectness.size(0);
  Tensor out = ctx.empty_on(objectness.device(), {n, ktot}, DType::I64);
  if (objectness.is_cuda()) {
#if DR_CUDA
    DR_CHECK(objectness.dtype() == DType::F32, "top_n_per_level: CUDA objectness must be f32");
    std::vector<Tensor> held;
    kern::TopkScratchFn scratch = [&](size_t bytes) {
      held.push_back(ctx.empty({int64_t(bytes) + 1}, DType::U8));
      return held.back().raw();
    };
    kern::top_n_per_level_cuda(out.data<int64_t>(), objectness.data<float>(), n,
                               num_anchors_per_level, pre_nms_top_n, scratch, ctx.stream());
    // The scratch tensors return to the stream-ordered cache; later work on this stream
    // runs after the sort, so reusing them is safe.
    return out;
#else
    DR_FAIL("top_n_per_level: CUDA tensor in a CPU-only build");
#endif
  }
  DR_DISPATCH_FLOAT(objectness.dtype(), T,
                    kern::top_n_per_level_cpu<T>(out.data<int64_t>(), objectness.data<T>(), n,
                                                 num_anchors_per_level, pre_nms_top_n));
  return out;
}

}  // namespace dr
