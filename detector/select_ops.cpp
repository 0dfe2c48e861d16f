#include "detector/select_ops.h"

#include "kernels/box.h"
#include "kernels/cuda_check.h"
#include "kernels/select.h"
#include "nn/dispatch.h"
#include "nn/functional.h"

namespace dr {

Tensor permute_flatten(Context& ctx, const Tensor& x, int64_t c) {
  check_dim("permute_flatten", "x", x, 4);
  check_float("permute_flatten", "x", x);
  DR_CHECK(c > 0 && x.size(1) % c == 0,
           "permute_flatten: channels of " << x.str() << " are not a multiple of " << c);
  const int64_t n = x.size(0), a = x.size(1) / c, h = x.size(2), w = x.size(3);
  Tensor out = ctx.empty_on(x.device(), {n, h * w * a, c}, x.dtype());
  if (x.is_cuda()) {
    DR_IF_CUDA(kern::permute_flatten_cuda(out.data<float>(), x.data<float>(), n, a, c, h, w,
                                          ctx.stream()));
  } else {
    DR_DISPATCH_FLOAT(x.dtype(), T,
                      kern::permute_flatten_cpu<T>(out.data<T>(), x.data<T>(), n, a, c, h, w));
  }
  if (ctx.recording({&x})) {
    out.set_requires_grad(true);
    ctx.tape().push("permute_flatten", {out}, [&ctx, x, out, n, a, c, h, w]() {
      Tensor dx = ctx.grad_buffer(x), dy = out.grad();
      if (x.is_cuda()) {
        DR_IF_CUDA(kern::permute_flatten_backward_cuda(dx.data<float>(), dy.data<float>(), n, a, c,
                                                       h, w, ctx.stream()));
        return;
      }
      DR_DISPATCH_FLOAT(x.dtype(), T,
                        kern::permute_flatten_backward_cpu<T>(dx.data<T>(), dy.data<T>(), n, a, c,
                                                              h, w));
    });
  }
  return out;
}

// Backward: scatter-add of dy into the selected rows of dx (kernels/select.cuh).
static void gather_rows_backward(Context& ctx, const Tensor& dx, const Tensor& dy,
                                 const Tensor& idx, int64_t b, int64_t r, int64_t k, int64_t d) {
  if (dy.numel() == 0) return;
  if (dx.is_cuda()) {
    DR_IF_CUDA(kern::gather_rows_backward_cuda(dx.data<float>(), dy.data<float>(),
                                               idx.data<int64_t>(), b, r, k, d, ctx.stream()));
    return;
  }
  DR_DISPATCH_FLOAT(dx.dtype(), T,
                    kern::gather_rows_backward_cpu<T>(dx.data<T>(), dy.data<T>(),
                                                      idx.data<int64_t>(), b, r, k, d));
}

Tensor gather_rows(Context& ctx, const Tensor& x, const Tensor& idx) {
  DR_CHECK(idx.dtype() == DType::I64, "gather_rows: idx must be int64, got " << idx.str());
  check_same_device("gather_rows", x, idx);
  ctx.check_no_grad("gather_rows", {&idx});
  const bool batched = idx.dim() == 2;
  DR_CHECK((batched && x.dim() >= 2 && x.size(0) == idx.size(0)) || (!batched && idx.dim() == 1),
           "gather_rows: x " << x.str() << " and idx " << idx.str() << " do not fit");
  const int64_t b = batched ? x.size(0) : 1;
  const int64_t r = batched ? x.size(1) : x.size(0);
  const int64_t k = batched ? idx.size(1) : idx.size(0);
  const int64_t d = r ? x.numel() / (b * r) : 0;
  Shape s = x.shape();
  s[batched ? 1 : 0] = k;
  Tensor out = ctx.empty_on(x.device(), s, x.dtype());
  if (out.numel() > 0) {
    if (x.is_cuda()) {
#if DR_CUDA
      if (x.dtype() == DType::I64)
        kern::gather_rows_i64_cuda(out.data<int64_t>(), x.data<int64_t>(), idx.data<int64_t>(), b,
                                   r, k, d, ctx.stream());
      else
        kern::gather_rows_cuda(out.data<float>(), x.data<float>(), idx.data<int64_t>(), b, r, k, d,
                               ctx.stream());
#else
      DR_FAIL("gather_rows: CUDA tensor in a CPU-only build");
#endif
    } else {
      const int64_t* ip = idx.data<int64_t>();
      for (int64_t i = 0; i < b * k; ++i)
        DR_CHECK(ip[i] >= 0 && ip[i] < r,
                 "gather_rows: index " << ip[i] << " out of range [0, " << r << ")");
      if (x.dtype() == DType::I64) {
        kern::gather_rows_cpu<int64_t>(out.data<int64_t>(), x.data<int64_t>(), ip, b, r, k, d);
      } else {
        DR_DISPATCH_FLOAT(x.dtype(), T,
                          kern::gather_rows_cpu<T>(out.data<T>(), x.data<T>(), ip, b, r, k, d));
      }
    }
  }
  if (ctx.recording({&x})) {
    check_float("gather_rows", "x (requiring a gradient)", x);
    out.set_requires_grad(true);
    ctx.tape().push("gather_rows", {out}, [&ctx, x, idx, out, b, r, k, d]() {
      gather_rows_backward(ctx, ctx.grad_buffer(x), out.grad(), idx, b, r, k, d);
    });
  }
  return out;
}

Tensor cat0(Context& ctx, const std::vector<Tensor>& parts) {
  if (parts.empty()) return Tensor();
  Shape s = parts[0].shape();
  int64_t rows = 0;
  for (const Tensor& p : parts) {
    DR_CHECK(p.dim() == static_cast<int>(s.size()) && p.dtype() == parts[0].dtype(),
             "cat0: " << p.str() << " does not match " << parts[0].str());
    for (size_t d = 1; d < s.size(); ++d)
      DR_CHECK(p.shape()[d] == s[d], "cat0: " << p.str() << " does not match " << parts[0].str());
    check_same_device("cat0", p, parts[0]);
    rows += p.size(0);
  }
  s[0] = rows;
  Tensor out = ctx.empty_on(parts[0].device(), s, parts[0].dtype());
  int64_t at = 0;
  bool record = false;
  for (const Tensor& p : parts) {
    if (p.size(0)) ctx.copy(out.narrow0(at, p.size(0)), p);
    at += p.size(0);
    record = record || ctx.recording({&p});
  }
  if (record) {
    check_float("cat0", "parts (requiring a gradient)", parts[0]);
    out.set_requires_grad(true);
    // Backward splits dy by rows: each part that needs one gets its slice added.
    ctx.tape().push("cat0", {out}, [&ctx, parts, out]() {
      Tensor dy = out.grad();
      int64_t at = 0;
      for (const Tensor& p : parts) {
        if (p.requires_grad() && p.size(0))
          accumulate(ctx, ctx.grad_buffer(p), dy.narrow0(at, p.size(0)));
        at += p.size(0);
      }
    });
  }
  return out;
}

Tensor sigmoid(Context& ctx, const Tensor& x) {
  check_float("sigmoid", "x", x);
  ctx.check_no_grad("sigmoid", {&x});
  Tensor y = ctx.empty_on(x.device(), x.shape(), x.dtype());
  if (x.is_cuda()) {
    DR_IF_CUDA(kern::sigmoid_cuda(y.data<float>(), x.data<float>(), x.numel(), ctx.stream()));
  } else {
    DR_DISPATCH_FLOAT(x.dtype(), T, kern::sigmoid_cpu<T>(y.data<T>(), x.data<T>(), x.numel()));
  }
  return y;
}

Tensor softmax_rows(Context& ctx, const Tensor& x) {
  check_float("softmax_rows", "x", x);
  check_dim("softmax_rows", "x", x, 2);
  ctx.check_no_grad("softmax_rows", {&x});
  Tensor y = ctx.empty_on(x.device(), x.shape(), x.dtype());
  if (x.numel() == 0) return y;
  if (x.is_cuda()) {
    DR_IF_CUDA(kern::softmax_rows_cuda(y.data<float>(), x.data<float>(), x.size(0), x.size(1),
                                       ctx.stream()));
  } else {
    DR_DISPATCH_FLOAT(x.dtype(), T,
                      kern::softmax_rows_cpu<T>(y.data<T>(), x.data<T>(), x.size(0), x.size(1)));
  }
  return y;
}

Tensor score_indices(Context& ctx, const Tensor& scores, double thr, int64_t first_col,
                     bool inclusive) {
  check_float("score_indices", "scores", scores);
  check_dim("score_indices", "scores", scores, 2);
  ctx.check_no_grad("score_indices", {&scores});
  const int64_t n = scores.numel(), cols = scores.size(1);
  if (scores.is_cuda()) {
#if DR_CUDA
    Tensor flags = ctx.empty({n}, DType::U8);
    Tensor idx = ctx.empty({n}, DType::I64);
    Tensor count = ctx.empty({1}, DType::I32);
    kern::score_flags_cuda(flags.data<uint8_t>(), scores.data<float>(), n, cols, first_col,
                           float(thr), inclusive, ctx.stream());
    Tensor tmp = ctx.empty({int64_t(kern::flagged_indices_temp_bytes(n)) + 1}, DType::U8);
    kern::flagged_indices_cuda(idx.data<int64_t>(), count.data<int32_t>(), flags.data<uint8_t>(), n,
                               tmp.raw(), tmp.nbytes(), ctx.stream());
    return idx.narrow0(0, ctx.to_host(count).item<int32_t>());
#else
    DR_FAIL("score_indices: CUDA tensor in a CPU-only build");
#endif
  }
  std::vector<uint8_t> flags(static_cast<size_t>(n));
  DR_DISPATCH_FLOAT(scores.dtype(), T,
                    kern::score_flags_cpu<T>(flags.data(), scores.data<T>(), n, cols, first_col,
                                             T(thr), inclusive));
  std::vector<int64_t> idx;
  for (int64_t i = 0; i < n; ++i)
    if (flags[i]) idx.push_back(i);
  return Tensor::host_from<int64_t>({int64_t(idx.size())}, idx);
}

Tensor index_mod(Context& ctx, const Tensor& idx, int64_t m) {
  DR_CHECK(idx.dtype() == DType::I64 && m > 0,
           "index_mod: needs int64 indices and m > 0, got " << idx.str() << " and m = " << m);
  ctx.check_no_grad("index_mod", {&idx});
  Tensor out = ctx.empty_on(idx.device(), idx.shape(), DType::I64);
  if (idx.is_cuda()) {
    DR_IF_CUDA(kern::index_mod_cuda(out.data<int64_t>(), idx.data<int64_t>(), idx.numel(), m,
                                    ctx.stream()));
  } else {
    kern::index_mod_cpu(out.data<int64_t>(), idx.data<int64_t>(), idx.numel(), m);
  }
  return out;
}

Tensor fill_columns(Context& ctx, const Tensor& x, int64_t ncols, double value) {
  check_float("fill_columns", "x", x);
  check_dim("fill_columns", "x", x, 2);
  ctx.check_no_grad("fill_columns", {&x});
  DR_CHECK(ncols >= 0 && ncols <= x.size(1),
           "fill_columns: " << ncols << " columns of " << x.str());
  if (x.is_cuda()) {
    DR_IF_CUDA(kern::fill_columns_cuda(x.data<float>(), x.size(0), x.size(1), ncols, float(value),
                                       ctx.stream()));
  } else {
    DR_DISPATCH_FLOAT(x.dtype(), T,
                      kern::fill_columns_cpu<T>(x.data<T>(), x.size(0), x.size(1), ncols, T(value)));
  }
  return x;
}

}  // namespace dr
