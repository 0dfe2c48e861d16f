// max_pool2d (see nn/functional.h): torch.nn.functional.max_pool2d with floor mode,
// dilation 1 and implicit -inf padding. Tie rule (kernels/pool.cuh): the first maximum in
// row-major window order wins, as in torch's CPU kernel. Used by the ResNet stem
// (3x3, stride 2, pad 1) and torchvision's FPN LastLevelMaxPool (1x1, stride 2, pad 0).
#include "kernels/pool.cuh"
#include "kernels/pool.h"
#include "nn/dispatch.h"
#include "nn/functional.h"

namespace dr {

Tensor max_pool2d(Context& ctx, const Tensor& x, int kernel, int stride, int padding) {
  check_float("max_pool2d", "x", x);
  DR_CHECK(x.dim() == 4, "max_pool2d: input must be 4-D (N, C, H, W), got " << x.str());
  DR_CHECK(!x.is_cuda() || x.dtype() == DType::F32,
           "max_pool2d: CUDA supports f32 only, got " << x.str());
  DR_CHECK(kernel > 0 && stride > 0 && padding >= 0,
           "max_pool2d: kernel " << kernel << ", stride " << stride << ", padding " << padding
                                 << " must be positive (padding >= 0)");
  // torch: "pad should be at most half of effective kernel size" (no all-padding windows).
  DR_CHECK(padding <= kernel / 2, "max_pool2d: padding " << padding
                                                         << " is more than half the kernel "
                                                         << kernel);
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const int64_t OH = kern::pool_out_size(H, kernel, stride, padding);
  const int64_t OW = kern::pool_out_size(W, kernel, stride, padding);
  DR_CHECK(OH > 0 && OW > 0, "max_pool2d: output size (" << OH << "," << OW << ") is too small "
                                                         << "for input " << x.str() << ", kernel "
                                                         << kernel << ", stride " << stride
                                                         << ", padding " << padding);
  const int64_t NC = N * C;
  Tensor y = ctx.empty({N, C, OH, OW}, x.dtype());
  const bool record = ctx.recording({&x});
  // (N, C, OH, OW) plane indices of the maxima, kept only for backward.
  Tensor argmax = record ? ctx.empty({N, C, OH, OW}, DType::I64) : Tensor();
  int64_t* arg = record ? argmax.data<int64_t>() : nullptr;
  if (x.is_cuda()) {
    DR_IF_CUDA(kern::maxpool2d_forward_cuda(y.data<float>(), arg, x.data<float>(), NC, H, W, OH,
                                            OW, kernel, stride, padding, ctx.stream()));
  } else {
    DR_DISPATCH_FLOAT(x.dtype(), T,
                      kern::maxpool2d_forward_cpu<T>(y.data<T>(), arg, x.data<T>(), NC, H, W, OH,
                                                     OW, kernel, stride, padding));
  }
  if (record) {
    y.set_requires_grad(true);
    ctx.tape().push("max_pool2d", {y}, [&ctx, x, y, argmax, kernel, stride, padding]() {
      const int64_t NC = x.size(0) * x.size(1), H = x.size(2), W = x.size(3);
      const int64_t OH = y.size(2), OW = y.size(3);
      Tensor dx = ctx.grad_buffer(x), dy = y.grad();
      if (x.is_cuda()) {
        DR_IF_CUDA(kern::maxpool2d_backward_cuda(dx.data<float>(), dy.data<float>(),
                                                 argmax.data<int64_t>(), NC, H, W, OH, OW, kernel,
                                                 stride, padding, ctx.stream()));
        return;
      }
      DR_DISPATCH_FLOAT(x.dtype(), T,
                        kern::maxpool2d_backward_cpu<T>(dx.data<T>(), dy.data<T>(),
                                                        argmax.data<int64_t>(), NC, H, W, OH, OW,
                                                        kernel, stride, padding));
    });
  }
  return y;
}

}  // namespace dr
