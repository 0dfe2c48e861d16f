// conv2d_fused: relu?(conv2d(x, w, b) * scale + shift + residual), the conv -> frozen or
// eval-mode batch norm -> residual add -> ReLU chains of ResNet blocks and
// torchvision.ops.misc.Conv2dNormActivation, as one op (see nn/functional.h).
//
// The affine is folded into the convolution on every backend:
//   conv(x, w) * scale[o] + shift[o] = conv(x, w * scale[o]) + shift[o]
// which rounds differently from torch's two steps by about one f32 ulp of each product.
// The folded weights and bias come from channel_affine below, whose backward carries the
// gradient back to w and b (dw += dw' * scale). On the CPU with oneDNN the residual add and
// the ReLU are post-ops of the convolution primitive (kernels/conv2d_dnnl.cpp), so the
// output is written once instead of three times; elsewhere (im2col, f64, CUDA) they are
// the add and relu ops, with the same math.
#include "kernels/batch_norm.h"
#include "kernels/elementwise.h"
#include "nn/dispatch.h"
#include "nn/functional.h"
#include "nn/ops/conv2d_internal.h"

namespace dr {

namespace {

using conv_internal::conv_geom;

// y = x * scale[c] + shift[c] with x seen as (1, C, rest), C = x.size(0): a conv's weights
// (O, C/groups, KH, KW) or bias (O) times a per-output-channel scale. scale, shift (C) get no
// gradient; shift undefined means 0. Backward: dx += dy * scale.
Tensor channel_affine(Context& ctx, const Tensor& x, const Tensor& scale, const Tensor& shift) {
  const int64_t C = x.size(0), rest = C ? x.numel() / C : 0;
  Tensor sh = shift.defined() ? shift : ctx.zeros_like(scale);
  if (sh.device() != x.device()) sh = ctx.to(sh, x.device());
  Tensor y = ctx.empty_like(x);
  if (x.is_cuda()) {
    DR_IF_CUDA(kern::bn_affine_cuda(y.data<float>(), x.data<float>(), scale.data<float>(),
                                    sh.data<float>(), 1, C, rest, ctx.stream()));
  } else {
    DR_DISPATCH_FLOAT(x.dtype(), T,
                      kern::bn_affine_cpu<T>(y.data<T>(), x.data<T>(), scale.data<T>(),
                                             sh.data<T>(), 1, C, rest));
  }
  if (ctx.recording({&x})) {
    y.set_requires_grad(true);
    ctx.tape().push("conv2d_fused (fold)", {y}, [&ctx, x, scale, y, C, rest]() {
      Tensor dy = y.grad();
      if (!dy.defined()) return;
      Tensor dx = ctx.grad_buffer(x);
      if (x.is_cuda()) {
        DR_IF_CUDA(kern::bn_backward_dx_affine_cuda(dx.data<float>(), dy.data<float>(),
                                                    scale.data<float>(), 1, C, rest,
                                                    ctx.stream()));
      } else {
        DR_DISPATCH_FLOAT(x.dtype(), T,
                          kern::bn_backward_dx_affine_cpu<T>(dx.data<T>(), dy.data<T>(),
                                                             scale.data<T>(), 1, C, rest));
      }
    });
  }
  return y;
}

void check_epilogue(const Tensor& x, const Tensor& w, const ConvEpilogue& e) {
  const int64_t O = w.dim() == 4 ? w.size(0) : -1;
  DR_CHECK(e.scale.defined() == e.shift.defined(),
           "conv2d_fused: scale and shift must be given together");
  for (const Tensor* t : {&e.scale, &e.shift}) {
    if (!t->defined()) continue;
    DR_CHECK(t->dim() == 1 && t->size(0) == O && t->dtype() == w.dtype(),
             "conv2d_fused: scale/shift " << t->str() << " do not match weight " << w.str());
    check_same_device("conv2d_fused", w, *t);
  }
}

#if DR_DNNL
// One oneDNN primitive: relu?(conv(x, wf) + bf + r), recording its backward.
Tensor fused_dnnl(Context& ctx, const Tensor& x, const Tensor& wf, const Tensor& bf,
                  const Tensor& r, bool relu_on, const kern::ConvGeom& g) {
  Tensor y = ctx.empty({g.N, g.O, g.OH, g.OW}, x.dtype());
  if (g.N > 0)
    conv_internal::dnnl_conv(ctx).forward(y.data<float>(), x.data<float>(), wf.data<float>(),
                                          bf.defined() ? bf.data<float>() : nullptr, g,
                                          r.defined() ? r.data<float>() : nullptr, relu_on);
  if (ctx.recording({&x, &wf, &bf, &r})) {
    y.set_requires_grad(true);
    ctx.tape().push("conv2d_fused", {y}, [&ctx, x, wf, bf, r, g, y, relu_on]() {
      Tensor dy = y.grad();
      if (!dy.defined()) return;
      // The gradient before the ReLU: dy where the output is positive (the output is
      // relu's, so this is torch's threshold_backward on the result).
      // When the residual's gradient buffer is fresh (zeros), it is filled with exactly that
      // gradient and then serves as it (one pass less), unless x shares it.
      const bool want_r = r.defined() && r.requires_grad();
      const bool into_r = want_r && relu_on && !r.has_grad() && r.meta() != x.meta();
      Tensor d = dy;
      if (relu_on) {
        d = into_r ? ctx.grad_buffer(r) : ctx.zeros_like(dy);
        kern::relu_backward_cpu<float>(d.data<float>(), dy.data<float>(), y.data<float>(),
                                       d.numel());
      }
      if (want_r && !into_r) accumulate(ctx, ctx.grad_buffer(r), d);
      const bool fresh_dx = !x.has_grad(), fresh_dw = !wf.has_grad();
      Tensor dx = x.requires_grad() ? ctx.grad_buffer(x) : Tensor();
      Tensor dw = wf.requires_grad() ? ctx.grad_buffer(wf) : Tensor();
      Tensor db = bf.defined() && bf.requires_grad() ? ctx.grad_buffer(bf) : Tensor();
      conv_internal::conv2d_backward(ctx, dx, dw, db, d, x, wf, g, fresh_dx, fresh_dw);
    });
  }
  return y;
}
#endif

}  // namespace

Tensor conv2d_fused(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b,
                    const Conv2dArgs& a, const ConvEpilogue& e) {
  check_epilogue(x, w, e);
  ctx.check_no_grad("conv2d_fused (scale, shift)", {&e.scale, &e.shift});
  Tensor wf = w, bf = b;  // the folded weights and bias
  if (e.scale.defined()) {
    wf = channel_affine(ctx, w, e.scale, Tensor());
    bf = b.defined() ? channel_affine(ctx, b, e.scale, e.shift) : e.shift;
  }
  const kern::ConvGeom g = conv_geom(x, wf, bf, a);
  if (e.residual.defined()) {
    DR_CHECK(e.residual.shape() == Shape({g.N, g.O, g.OH, g.OW}) &&
                 e.residual.dtype() == x.dtype(),
             "conv2d_fused: residual " << e.residual.str() << " does not match the output ("
                                       << g.N << "," << g.O << "," << g.OH << "," << g.OW << ")");
    check_same_device("conv2d_fused", x, e.residual);
  }
#if DR_DNNL
  if (!x.is_cuda() && conv_internal::use_dnnl(ctx, x.dtype()))
    return fused_dnnl(ctx, x, wf, bf, e.residual, e.relu, g);
#endif
  Tensor y = conv2d(ctx, x, wf, bf, a);
  if (e.residual.defined()) y = add(ctx, y, e.residual);
  return e.relu ? relu(ctx, y, /*inplace=*/true) : y;
}

}  // namespace dr
