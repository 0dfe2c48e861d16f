// relu, add, accumulate, flatten: see nn/functional.h.
#include "kernels/elementwise.h"
#include "nn/dispatch.h"
#include "nn/functional.h"

namespace dr {

void accumulate(Context& ctx, const Tensor& dst, const Tensor& src, double alpha) {
  DR_CHECK(dst.numel() == src.numel() && dst.dtype() == src.dtype(),
           "accumulate: destination " << dst.str() << " and source " << src.str() << " differ");
  check_same_device("accumulate", dst, src);
  check_float("accumulate", "dst", dst);
  // Not differentiated: a src that needs a gradient would lose it here.
  ctx.check_no_grad("accumulate", {&src});
  if (dst.is_cuda()) {
    DR_IF_CUDA(kern::accumulate_cuda(dst.data<float>(), src.data<float>(), float(alpha),
                                     dst.numel(), ctx.stream()));
    return;
  }
  DR_DISPATCH_FLOAT(dst.dtype(), T,
                    kern::accumulate_cpu<T>(dst.data<T>(), src.data<T>(), T(alpha), dst.numel()));
}

static void relu_backward_into(Context& ctx, const Tensor& dx, const Tensor& dy, const Tensor& y) {
  if (y.is_cuda()) {
    DR_IF_CUDA(kern::relu_backward_cuda(dx.data<float>(), dy.data<float>(), y.data<float>(),
                                        y.numel(), ctx.stream()));
    return;
  }
  DR_DISPATCH_FLOAT(y.dtype(), T,
                    kern::relu_backward_cpu<T>(dx.data<T>(), dy.data<T>(), y.data<T>(), y.numel()));
}

Tensor relu(Context& ctx, const Tensor& x, bool inplace) {
  check_float("relu", "x", x);
  // In place is safe for the tape: relu's backward reads only its output, and the ops
  // that feed relu in this project (conv, batch norm, add) do not save their output.
  Tensor y = inplace ? x.detach() : ctx.empty_like(x);
  if (x.is_cuda()) {
    DR_IF_CUDA(kern::relu_forward_cuda(y.data<float>(), x.data<float>(), x.numel(), ctx.stream()));
  } else {
    DR_DISPATCH_FLOAT(x.dtype(), T, kern::relu_forward_cpu<T>(y.data<T>(), x.data<T>(), x.numel()));
  }
  if (ctx.recording({&x})) {
    y.set_requires_grad(true);
    ctx.tape().push("relu", {y}, [&ctx, x, y]() {
      relu_backward_into(ctx, ctx.grad_buffer(x), y.grad(), y);
    });
  }
  return y;
}

Tensor add(Context& ctx, const Tensor& a, const Tensor& b) {
  check_float("add", "a", a);
  DR_CHECK(a.shape() == b.shape() && a.dtype() == b.dtype(),
           "add: operands " << a.str() << " and " << b.str() << " differ");
  check_same_device("add", a, b);
  Tensor out = ctx.empty_like(a);
  if (a.is_cuda()) {
    DR_IF_CUDA(kern::add_cuda(out.data<float>(), a.data<float>(), b.data<float>(), a.numel(),
                              ctx.stream()));
  } else {
    DR_DISPATCH_FLOAT(a.dtype(), T,
                      kern::add_cpu<T>(out.data<T>(), a.data<T>(), b.data<T>(), a.numel()));
  }
  if (ctx.recording({&a, &b})) {
    out.set_requires_grad(true);
    ctx.tape().push("add", {out}, [&ctx, a, b, out]() {
      Tensor g = out.grad();
      if (a.requires_grad()) accumulate(ctx, ctx.grad_buffer(a), g);
      if (b.requires_grad()) accumulate(ctx, ctx.grad_buffer(b), g);
    });
  }
  return out;
}

Tensor flatten(const Tensor& x, int start_dim) {
  DR_CHECK(start_dim >= 0 && start_dim < x.dim(), "flatten: start_dim " << start_dim
                                                                        << " for " << x.str());
  Shape s(x.shape().begin(), x.shape().begin() + start_dim);
  s.push_back(-1);
  if (x.numel() == 0) {  // -1 cannot be inferred from zero elements
    int64_t rest = 1;
    for (int i = start_dim; i < x.dim(); ++i) rest *= x.shape()[i];
    s.back() = rest;
  }
  return x.reshape(s);
}

}  // namespace dr
