// The Faster R-CNN losses and the per-class box pick: see nn/losses.h. The numerics are
// torch 1.13's (kernels/loss.cuh); this file checks arguments, launches, and records the
// backward closures.
#include "kernels/loss.h"
#include "nn/dispatch.h"
#include "nn/losses.h"

namespace dr {

namespace {

// Targets, labels and indices take no gradient; one that asks for it would be silently
// dropped, so refuse it while recording.
void check_no_grad(const Context& ctx, const char* op, const char* name, const Tensor& t) {
  DR_CHECK(!(ctx.grad_enabled() && t.requires_grad()),
           op << ": " << name << " " << t.str() << " requires grad, but " << op
              << " gives it no gradient");
}

// idx (n) int64 on x's device.
void check_index_tensor(const char* op, const char* name, const Tensor& idx, int64_t n,
                        const Tensor& x) {
  DR_CHECK(idx.defined() && idx.dtype() == DType::I64 && idx.dim() == 1 && idx.size(0) == n,
           op << ": " << name << " must be int64 (" << n << ") but is " << idx.str());
  check_same_device(op, x, idx);
}

// On the CPU every index must lie in [0, limit); CUDA indices stay on the device
// (nn/losses.h: an out-of-range one turns into NaN there).
void check_index_range(const char* op, const char* name, const Tensor& idx, int64_t limit) {
  if (idx.is_cuda()) return;
  const int64_t* p = idx.data<int64_t>();
  for (int64_t i = 0; i < idx.numel(); ++i)
    DR_CHECK(p[i] >= 0 && p[i] < limit, op << ": " << name << "[" << i << "] = " << p[i]
                                           << " is out of range [0, " << limit << ")");
}

}  // namespace

Tensor binary_cross_entropy_with_logits(Context& ctx, const Tensor& logits, const Tensor& targets) {
  const char* op = "binary_cross_entropy_with_logits";
  check_float(op, "logits", logits);
  DR_CHECK(targets.defined() && targets.shape() == logits.shape() &&
               targets.dtype() == logits.dtype(),
           op << ": targets " << targets.str() << " must match logits " << logits.str());
  check_same_device(op, logits, targets);
  check_no_grad(ctx, op, "targets", targets);
  const int64_t n = logits.numel();
  Tensor out = ctx.empty_on(logits.device(), {}, logits.dtype());
  if (logits.is_cuda()) {
    DR_IF_CUDA(kern::bce_logits_forward_cuda(out.data<float>(), logits.data<float>(),
                                             targets.data<float>(), n, ctx.stream()));
  } else {
    DR_DISPATCH_FLOAT(logits.dtype(), T,
                      kern::bce_logits_forward_cpu<T>(out.data<T>(), logits.data<T>(),
                                                      targets.data<T>(), n));
  }
  if (ctx.recording({&logits})) {
    out.set_requires_grad(true);
    ctx.tape().push(op, {out}, [&ctx, logits, targets, out, n]() {
      Tensor dx = ctx.grad_buffer(logits), g = out.grad();
      if (logits.is_cuda()) {
        DR_IF_CUDA(kern::bce_logits_backward_cuda(dx.data<float>(), g.data<float>(),
                                                  logits.data<float>(), targets.data<float>(), n,
                                                  ctx.stream()));
      } else {
        DR_DISPATCH_FLOAT(logits.dtype(), T,
                          kern::bce_logits_backward_cpu<T>(dx.data<T>(), g.data<T>(),
                                                           logits.data<T>(), targets.data<T>(), n));
      }
    });
  }
  return out;
}

Tensor smooth_l1_loss(Context& ctx, const Tensor& input, const Tensor& target, double beta,
                      double divisor) {
  const char* op = "smooth_l1_loss";
  check_float(op, "input", input);
  DR_CHECK(target.defined() && target.shape() == input.shape() && target.dtype() == input.dtype(),
           op << ": target " << target.str() << " must match input " << input.str());
  check_same_device(op, input, target);
  check_no_grad(ctx, op, "target", target);
  // beta = 0 is torch's l1_loss special case, never used by torchvision's detection losses.
  DR_CHECK(beta > 0, op << ": beta must be > 0, got " << beta);
  DR_CHECK(divisor > 0, op << ": divisor must be > 0, got " << divisor);
  const int64_t n = input.numel();
  Tensor out = ctx.empty_on(input.device(), {}, input.dtype());
  if (input.is_cuda()) {
    DR_IF_CUDA(kern::smooth_l1_forward_cuda(out.data<float>(), input.data<float>(),
                                            target.data<float>(), n, float(beta), divisor,
                                            ctx.stream()));
  } else {
    DR_DISPATCH_FLOAT(input.dtype(), T,
                      kern::smooth_l1_forward_cpu<T>(out.data<T>(), input.data<T>(),
                                                     target.data<T>(), n, T(beta), divisor));
  }
  if (ctx.recording({&input})) {
    out.set_requires_grad(true);
    ctx.tape().push(op, {out}, [&ctx, input, target, out, n, beta, divisor]() {
      Tensor dx = ctx.grad_buffer(input), g = out.grad();
      if (input.is_cuda()) {
        DR_IF_CUDA(kern::smooth_l1_backward_cuda(dx.data<float>(), g.data<float>(),
                                                 input.data<float>(), target.data<float>(), n,
                                                 float(beta), float(divisor), ctx.stream()));
      } else {
        DR_DISPATCH_FLOAT(input.dtype(), T,
                          kern::smooth_l1_backward_cpu<T>(dx.data<T>(), g.data<T>(),
                                                          input.data<T>(), target.data<T>(), n,
                                                          T(beta), T(divisor)));
      }
    });
  }
  return out;
}

Tensor cross_entropy(Context& ctx, const Tensor& logits, const Tensor& labels) {
  const char* op = "cross_entropy";
  check_float(op, "logits", logits);
  check_dim(op, "logits", logits, 2);
  const int64_t k = logits.size(0), c = logits.size(1);
  DR_CHECK(c > 0, op << ": logits " << logits.str() << " have no classes");
  check_index_tensor(op, "labels", labels, k, logits);
  check_index_range(op, "labels", labels, c);
  Tensor out = ctx.empty_on(logits.device(), {}, logits.dtype());
  if (logits.is_cuda()) {
    DR_IF_CUDA(kern::cross_entropy_forward_cuda(out.data<float>(), logits.data<float>(),
                                                labels.data<int64_t>(), k, c, ctx.stream()));
  } else {
    DR_DISPATCH_FLOAT(logits.dtype(), T,
                      kern::cross_entropy_forward_cpu<T>(out.data<T>(), logits.data<T>(),
                                                         labels.data<int64_t>(), k, c));
  }
  if (ctx.recording({&logits})) {
    out.set_requires_grad(true);
    ctx.tape().push(op, {out}, [&ctx, logits, labels, out, k, c]() {
      Tensor dx = ctx.grad_buffer(logits), g = out.grad();
      if (logits.is_cuda()) {
        DR_IF_CUDA(kern::cross_entropy_backward_cuda(dx.data<float>(), g.data<float>(),
                                                     logits.data<float>(), labels.data<int64_t>(),
                                                     k, c, ctx.stream()));
      } else {
        DR_DISPATCH_FLOAT(logits.dtype(), T,
                          kern::cross_entropy_backward_cpu<T>(dx.data<T>(), g.data<T>(),
                                                              logits.data<T>(),
                                                              labels.data<int64_t>(), k, c));
      }
    });
  }
  return out;
}

Tensor gather_class_boxes(Context& ctx, const Tensor& box_regression, const Tensor& rows,
                          const Tensor& classes) {
  const char* op = "gather_class_boxes";
  check_float(op, "box_regression", box_regression);
  check_dim(op, "box_regression", box_regression, 2);
  DR_CHECK(box_regression.size(1) % 4 == 0,
           op << ": box_regression " << box_regression.str() << " is not (K, C*4)");
  const int64_t k = box_regression.size(0), c = box_regression.size(1) / 4;
  DR_CHECK(rows.defined(), op << ": rows are undefined");
  const int64_t p = rows.numel();
  check_index_tensor(op, "rows", rows, p, box_regression);
  check_index_tensor(op, "classes", classes, p, box_regression);
  check_index_range(op, "rows", rows, k);
  check_index_range(op, "classes", classes, c);
  Tensor out = ctx.empty_on(box_regression.device(), {p, 4}, box_regression.dtype());
  if (box_regression.is_cuda()) {
    DR_IF_CUDA(kern::gather_class_boxes_cuda(out.data<float>(), box_regression.data<float>(),
                                             rows.data<int64_t>(), classes.data<int64_t>(), p, k,
                                             c, ctx.stream()));
  } else {
    DR_DISPATCH_FLOAT(box_regression.dtype(), T,
                      kern::gather_class_boxes_cpu<T>(out.data<T>(), box_regression.data<T>(),
                                                      rows.data<int64_t>(),
                                                      classes.data<int64_t>(), p, k, c));
  }
  if (ctx.recording({&box_regression})) {
    out.set_requires_grad(true);
    ctx.tape().push(op, {out}, [&ctx, box_regression, rows, classes, out, p, k, c]() {
      Tensor dx = ctx.grad_buffer(box_regression), dy = out.grad();
      if (box_regression.is_cuda()) {
        DR_IF_CUDA(kern::gather_class_boxes_backward_cuda(dx.data<float>(), dy.data<float>(),
                                                          rows.data<int64_t>(),
                                                          classes.data<int64_t>(), p, k, c,
                                                          ctx.stream()));
      } else {
        DR_DISPATCH_FLOAT(box_regression.dtype(), T,
                          kern::gather_class_boxes_backward_cpu<T>(dx.data<T>(), dy.data<T>(),
                                                                   rows.data<int64_t>(),
                                                                   classes.data<int64_t>(), p, k,
                                                                   c));
      }
    });
  }
  return out;
}

}  // namespace dr
