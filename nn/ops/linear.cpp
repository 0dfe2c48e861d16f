// linear: torch.nn.functional.linear, y = x w^T + b, forward and backward.
//   y (N, out) = x (N, in) @ w^T;  dx (N, in) += dy @ w;  dw (out, in) += dy^T @ x;
//   db (out) += sum_n dy.
// CPU: f32 oneDNN sgemm (OpenBLAS when the context forces CpuConvImpl::kIm2col), f64
// OpenBLAS; CUDA: cuBLAS (kernels/gemm.h); bias: kernels/bias.* with inner = 1.
#include <type_traits>

#include "kernels/bias.h"
#include "kernels/gemm.h"
#include "nn/dispatch.h"
#include "nn/functional.h"

namespace dr {

namespace {

void check_linear(const Tensor& x, const Tensor& w, const Tensor& b) {
  check_dim("linear", "input", x, 2);
  check_dim("linear", "weight", w, 2);
  check_float("linear", "input", x);
  DR_CHECK(w.dtype() == x.dtype(),
           "linear: weight " << w.str() << " and input " << x.str() << " have different dtypes");
  check_same_device("linear", x, w);
  DR_CHECK(x.size(1) == w.size(1), "linear: input " << shape_str(x.shape()) << " has " << x.size(1)
                                                    << " features but weight "
                                                    << shape_str(w.shape()) << " expects "
                                                    << w.size(1));
  if (b.defined()) {
    check_dim("linear", "bias", b, 1);
    DR_CHECK(b.size(0) == w.size(0) && b.dtype() == x.dtype(),
             "linear: bias " << b.str() << " does not match weight " << w.str() << " (expected ("
                             << w.size(0) << ") " << dtype_name(x.dtype()) << ")");
    check_same_device("linear", x, b);
  }
}

// C (M, N) = op(A) op(B) + beta C on the tensors' device, dtype T.
template <class T>
void gemm(Context& ctx, bool cuda, bool ta, bool tb, int64_t M, int64_t N, int64_t K, const T* A,
          int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  if (cuda) {
#if DR_CUDA
    if constexpr (std::is_same_v<T, float>) {
      kern::gemm_cuda(ctx.cublas(), ta, tb, M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc);
      return;
    }
#endif
    DR_FAIL("linear: CUDA path needs f32 and a CUDA build");
  }
#if DR_DNNL
  // f32 on the CPU: oneDNN's sgemm unless the context forces the OpenBLAS path (kIm2col).
  if constexpr (std::is_same_v<T, float>) {
    if (cpu_conv_impl(ctx) != CpuConvImpl::kIm2col)
      return kern::gemm_dnnl(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc);
  }
#endif
  kern::gemm_cpu<T>(ta, tb, M, N, K, T(1), A, lda, B, ldb, beta, C, ldc);
}

template <class T>
void add_bias(Context& ctx, bool cuda, T* y, const T* b, int64_t N, int64_t out) {
  if (cuda) {
#if DR_CUDA
    if constexpr (std::is_same_v<T, float>)
      return kern::bias_add_cuda(y, b, N, out, 1, ctx.stream());
#endif
    DR_FAIL("linear: CUDA path needs f32 and a CUDA build");
  }
  kern::bias_add_cpu<T>(y, b, N, out, 1);
}

template <class T>
void bias_grad(Context& ctx, bool cuda, T* db, const T* dy, int64_t N, int64_t out) {
  if (cuda) {
#if DR_CUDA
    if constexpr (std::is_same_v<T, float>)
      return kern::bias_grad_cuda(db, dy, N, out, 1, ctx.stream());
#endif
    DR_FAIL("linear: CUDA path needs f32 and a CUDA build");
  }
  kern::bias_grad_cpu<T>(db, dy, N, out, 1);
}

}  // namespace

Tensor linear(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b) {
  check_linear(x, w, b);
  const int64_t N = x.size(0), in = x.size(1), out = w.size(0);
  const bool cuda = x.is_cuda();
  Tensor y = ctx.empty_on(x.device(), {N, out}, x.dtype());
  DR_DISPATCH_FLOAT(x.dtype(), T, {
    gemm<T>(ctx, cuda, false, true, N, out, in, x.data<T>(), in, w.data<T>(), in, T(0), y.data<T>(),
            out);
    if (b.defined()) add_bias<T>(ctx, cuda, y.data<T>(), b.data<T>(), N, out);
  });
  if (ctx.recording({&x, &w, &b})) {
    y.set_requires_grad(true);
    ctx.tape().push("linear", {y}, [&ctx, x, w, b, y, N, in, out, cuda]() {
      Tensor dy = y.grad();
      if (!dy.defined()) return;  // the output did not reach the loss
      DR_DISPATCH_FLOAT(x.dtype(), T, {
        if (x.requires_grad())  // dx (N, in) += dy (N, out) @ w (out, in)
          gemm<T>(ctx, cuda, false, false, N, in, out, dy.data<T>(), out, w.data<T>(), in, T(1),
                  ctx.grad_buffer(x).data<T>(), in);
        if (w.requires_grad())  // dw (out, in) += dy^T (out, N) @ x (N, in)
          gemm<T>(ctx, cuda, true, false, out, in, N, dy.data<T>(), out, x.data<T>(), in, T(1),
                  ctx.grad_buffer(w).data<T>(), in);
        if (b.defined() && b.requires_grad())
          bias_grad<T>(ctx, cuda, ctx.grad_buffer(b).data<T>(), dy.data<T>(), N, out);
      });
    });
  }
  return y;
}

}  // namespace dr
