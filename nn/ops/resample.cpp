// upsample_nearest and resize_bilinear (see nn/functional.h): torch.nn.functional.interpolate
// with size=(out_h, out_w), mode "nearest" (legacy index rule) or "bilinear"
// (align_corners=False). Index rules and the scale_factor note are in
// kernels/resample.cuh: for interpolate(scale_factor=s, recompute_scale_factor=True), as
// torchvision's GeneralizedRCNNTransform calls it, use out = floor(in * s).
#include "kernels/resample.h"
#include "nn/dispatch.h"
#include "nn/functional.h"

namespace dr {

namespace {

void check_resample(const char* op, const Tensor& x, int64_t out_h, int64_t out_w) {
  check_float(op, "x", x);
  DR_CHECK(!x.is_cuda() || x.dtype() == DType::F32, op << ": CUDA supports f32 only, got "
                                                       << x.str());
  DR_CHECK(out_h > 0 && out_w > 0,
           op << ": output size (" << out_h << "," << out_w << ") must be positive");
  DR_CHECK(x.size(-2) > 0 && x.size(-1) > 0,
           op << ": input " << x.str() << " has an empty spatial size");
}

}  // namespace

Tensor upsample_nearest(Context& ctx, const Tensor& x, int64_t out_h, int64_t out_w) {
  DR_CHECK(x.dim() == 4, "upsample_nearest: input must be 4-D (N, C, H, W), got " << x.str());
  check_resample("upsample_nearest", x, out_h, out_w);
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), NC = N * C;
  Tensor y = ctx.empty({N, C, out_h, out_w}, x.dtype());
  if (x.is_cuda()) {
    DR_IF_CUDA(kern::upsample_nearest_forward_cuda(y.data<float>(), x.data<float>(), NC, H, W,
                                                   out_h, out_w, ctx.stream()));
  } else {
    DR_DISPATCH_FLOAT(x.dtype(), T,
                      kern::upsample_nearest_forward_cpu<T>(y.data<T>(), x.data<T>(), NC, H, W,
                                                            out_h, out_w));
  }
  if (ctx.recording({&x})) {
    y.set_requires_grad(true);
    ctx.tape().push("upsample_nearest", {y}, [&ctx, x, y, NC, H, W, out_h, out_w]() {
      Tensor dx = ctx.grad_buffer(x), dy = y.grad();
      if (x.is_cuda()) {
        DR_IF_CUDA(kern::upsample_nearest_backward_cuda(dx.data<float>(), dy.data<float>(), NC, H,
                                                        W, out_h, out_w, ctx.stream()));
        return;
      }
      DR_DISPATCH_FLOAT(x.dtype(), T,
                        kern::upsample_nearest_backward_cpu<T>(dx.data<T>(), dy.data<T>(), NC, H,
                                                               W, out_h, out_w));
    });
  }
  return y;
}

Tensor resize_bilinear(Context& ctx, const Tensor& x, int64_t out_h, int64_t out_w) {
  DR_CHECK(x.dim() == 4 || x.dim() == 3,
           "resize_bilinear: input must be (N, C, H, W) or (C, H, W), got " << x.str());
  check_resample("resize_bilinear", x, out_h, out_w);
  ctx.check_no_grad("resize_bilinear", {&x});  // forward only (image preprocessing)
  const int64_t H = x.size(-2), W = x.size(-1), NC = x.numel() / (H * W);
  Shape out_shape = x.shape();
  out_shape[x.dim() - 2] = out_h;
  out_shape[x.dim() - 1] = out_w;
  Tensor y = ctx.empty(out_shape, x.dtype());
  if (x.is_cuda()) {
    DR_IF_CUDA(kern::resize_bilinear_cuda(y.data<float>(), x.data<float>(), NC, H, W, out_h, out_w,
                                          ctx.stream()));
  } else {
    DR_DISPATCH_FLOAT(x.dtype(), T,
                      kern::resize_bilinear_cpu<T>(y.data<T>(), x.data<T>(), NC, H, W, out_h,
                                                   out_w));
  }
  return y;
}

}  // namespace dr
