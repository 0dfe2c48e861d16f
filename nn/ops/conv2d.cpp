// conv2d: torch.nn.functional.conv2d (cross-correlation, zero padding, stride, dilation,
// groups, optional bias) forward and backward. CPU f32: oneDNN (kernels/conv2d_dnnl.cpp) or,
// forced or without oneDNN, im2col + BLAS (kernels/conv2d_cpu.cpp), which always runs f64;
// CUDA: cuDNN (kernels/conv2d_cudnn.cpp); bias: kernels/bias.*.
#include "kernels/conv2d.h"

#include <cstdlib>
#include <cstring>
#include <vector>

#include "kernels/bias.h"
#include "nn/dispatch.h"
#include "nn/functional.h"
#include "nn/ops/conv2d_internal.h"

namespace dr {

namespace {

// Per-Context CPU scratch for the column matrices: grows to the largest conv seen and is
// reused, so a forward pass does not page-fault fresh buffers for every layer.
struct CpuConvScratch {
  std::vector<double> buf;  // doubles: aligned for both f32 and f64 use
  template <class T> T* get(int64_t elems) {
    size_t n = (static_cast<size_t>(elems) * sizeof(T) + sizeof(double) - 1) / sizeof(double);
    if (buf.size() < n) buf.resize(n);
    return reinterpret_cast<T*>(buf.data());
  }
};

// The context's CpuConvImpl (Context::backend_cache<CpuConvChoice>()), read from DR_CONV
// when first asked.
struct CpuConvChoice {
  CpuConvImpl impl = DR_DNNL ? CpuConvImpl::kOneDnn : CpuConvImpl::kIm2col;
  CpuConvChoice() {
    const char* env = std::getenv("DR_CONV");
    if (!env || !*env) return;
    if (!std::strcmp(env, "im2col")) impl = CpuConvImpl::kIm2col;
    else if (!std::strcmp(env, "onednn")) impl = CpuConvImpl::kOneDnn;
    else if (!std::strcmp(env, "onednn-direct")) impl = CpuConvImpl::kOneDnnDirect;
    else DR_FAIL("conv2d: DR_CONV=" << env << " is not one of onednn, onednn-direct, im2col");
    DR_CHECK(DR_DNNL || impl == CpuConvImpl::kIm2col,
             "conv2d: DR_CONV=" << env << ", but this build has no oneDNN (DR_DNNL=0)");
  }
};

}  // namespace

namespace conv_internal {

bool use_dnnl(Context& ctx, DType dtype) {
  return DR_DNNL && dtype == DType::F32 && cpu_conv_impl(ctx) != CpuConvImpl::kIm2col;
}

#if DR_DNNL
kern::DnnlConv& dnnl_conv(Context& ctx) {
  kern::DnnlConv& c = ctx.backend_cache<kern::DnnlConv>();
  c.set_winograd(cpu_conv_impl(ctx) == CpuConvImpl::kOneDnn);
  return c;
}
#endif

kern::ConvGeom conv_geom(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dArgs& a) {
  check_dim("conv2d", "input", x, 4);
  check_dim("conv2d", "weight", w, 4);
  check_float("conv2d", "input", x);
  DR_CHECK(w.dtype() == x.dtype(),
           "conv2d: weight " << w.str() << " and input " << x.str() << " have different dtypes");
  check_same_device("conv2d", x, w);
  DR_CHECK(a.groups >= 1 && a.stride_h >= 1 && a.stride_w >= 1 && a.dilation_h >= 1 &&
               a.dilation_w >= 1 && a.pad_h >= 0 && a.pad_w >= 0,
           "conv2d: invalid arguments stride ("
               << a.stride_h << "," << a.stride_w << "), padding (" << a.pad_h << "," << a.pad_w
               << "), dilation (" << a.dilation_h << "," << a.dilation_w << "), groups "
               << a.groups);
  kern::ConvGeom g;
  g.N = x.size(0), g.C = x.size(1), g.H = x.size(2), g.W = x.size(3);
  g.O = w.size(0), g.KH = w.size(2), g.KW = w.size(3);
  g.sh = a.stride_h, g.sw = a.stride_w, g.ph = a.pad_h, g.pw = a.pad_w;
  g.dh = a.dilation_h, g.dw = a.dilation_w, g.groups = a.groups;
  DR_CHECK(g.O % g.groups == 0 && g.O > 0,
           "conv2d: weight " << shape_str(w.shape()) << " has " << g.O << " output channels, not a"
                             << " positive multiple of groups " << g.groups);
  DR_CHECK(g.C == w.size(1) * g.groups,
           "conv2d: input " << shape_str(x.shape()) << " has " << g.C << " channels but weight "
                            << shape_str(w.shape()) << " with groups " << g.groups << " expects "
                            << w.size(1) * g.groups);
  DR_CHECK(g.KH > 0 && g.KW > 0, "conv2d: empty kernel in weight " << shape_str(w.shape()));
  if (b.defined()) {
    check_dim("conv2d", "bias", b, 1);
    DR_CHECK(b.size(0) == g.O && b.dtype() == x.dtype(),
             "conv2d: bias " << b.str() << " does not match weight " << w.str() << " (expected ("
                             << g.O << ") " << dtype_name(x.dtype()) << ")");
    check_same_device("conv2d", x, b);
  }
  g.OH = kern::conv_out_size(g.H, g.KH, g.sh, g.ph, g.dh);
  g.OW = kern::conv_out_size(g.W, g.KW, g.sw, g.pw, g.dw);
  DR_CHECK(g.OH > 0 && g.OW > 0,
           "conv2d: output size " << g.OH << "x" << g.OW << " is not positive for input "
                                  << shape_str(x.shape()) << ", weight " << shape_str(w.shape())
                                  << ", stride (" << g.sh << "," << g.sw << "), padding (" << g.ph
                                  << "," << g.pw << "), dilation (" << g.dh << "," << g.dw << ")");
  return g;
}

#if DR_CUDA
kern::CudnnEnv cudnn_env(Context& ctx) {
  return {ctx.cudnn(), &ctx.backend_cache<kern::CudnnConvCache>(),
          [&ctx](size_t n) { return ctx.workspace(n); }};
}
#endif

void conv2d_backward(Context& ctx, const Tensor& dx, const Tensor& dw, const Tensor& db,
                     const Tensor& dy, const Tensor& x, const Tensor& w, const kern::ConvGeom& g,
                     bool fresh_dx, bool fresh_dw) {
  if (g.N == 0) return;
  const int64_t P = g.OH * g.OW;
  if (x.is_cuda()) {
#if DR_CUDA
    kern::CudnnEnv env = cudnn_env(ctx);
    if (dx.defined())
      kern::conv2d_backward_data_cudnn(env, dx.data<float>(), dy.data<float>(), w.data<float>(), g);
    if (dw.defined())
      kern::conv2d_backward_filter_cudnn(env, dw.data<float>(), dy.data<float>(), x.data<float>(),
                                         g);
    if (db.defined())
      kern::bias_grad_cuda(db.data<float>(), dy.data<float>(), g.N, g.O, P, ctx.stream());
#else
    DR_FAIL("conv2d: CUDA tensor in a CPU-only build");
#endif
    return;
  }
#if DR_DNNL
  if (use_dnnl(ctx, x.dtype())) {
    dnnl_conv(ctx).backward(dx.defined() ? dx.data<float>() : nullptr,
                            dw.defined() ? dw.data<float>() : nullptr, dy.data<float>(),
                            x.data<float>(), w.data<float>(), g, !fresh_dx, !fresh_dw);
    if (db.defined()) kern::bias_grad_cpu<float>(db.data<float>(), dy.data<float>(), g.N, g.O, P);
    return;
  }
#endif
  DR_DISPATCH_FLOAT(x.dtype(), T, {
    if (dx.defined() || dw.defined()) {
      T* scratch = ctx.backend_cache<CpuConvScratch>().get<T>(kern::conv2d_cpu_scratch(g, true));
      kern::conv2d_backward_cpu<T>(dx.defined() ? dx.data<T>() : nullptr,
                                   dw.defined() ? dw.data<T>() : nullptr, dy.data<T>(), x.data<T>(),
                                   w.data<T>(), g, scratch);
    }
    if (db.defined()) kern::bias_grad_cpu<T>(db.data<T>(), dy.data<T>(), g.N, g.O, P);
  });
}

}  // namespace conv_internal

using namespace conv_internal;

Tensor conv2d(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b,
              const Conv2dArgs& a) {
  const kern::ConvGeom g = conv_geom(x, w, b, a);
  Tensor y = ctx.empty_on(x.device(), {g.N, g.O, g.OH, g.OW}, x.dtype());
  const int64_t P = g.OH * g.OW;
  if (g.N > 0) {
    if (x.is_cuda()) {
      DR_IF_CUDA({
        kern::conv2d_forward_cudnn(cudnn_env(ctx), y.data<float>(), x.data<float>(),
                                   w.data<float>(), g);
        if (b.defined())
          kern::bias_add_cuda(y.data<float>(), b.data<float>(), g.N, g.O, P, ctx.stream());
      });
    } else if (use_dnnl(ctx, x.dtype())) {
#if DR_DNNL
      dnnl_conv(ctx).forward(y.data<float>(), x.data<float>(), w.data<float>(),
                             b.defined() ? b.data<float>() : nullptr, g);
#endif
    } else {
      DR_DISPATCH_FLOAT(x.dtype(), T, {
        T* scratch = ctx.backend_cache<CpuConvScratch>().get<T>(kern::conv2d_cpu_scratch(g, false));
        kern::conv2d_forward_cpu<T>(y.data<T>(), x.data<T>(), w.data<T>(), g, scratch);
        if (b.defined()) kern::bias_add_cpu<T>(y.data<T>(), b.data<T>(), g.N, g.O, P);
      });
    }
  }
  if (ctx.recording({&x, &w, &b})) {
    y.set_requires_grad(true);
    ctx.tape().push("conv2d", {y}, [&ctx, x, w, b, g, y]() {
      Tensor dy = y.grad();
      if (!dy.defined()) return;  // the output did not reach the loss
      const bool fresh_dx = !x.has_grad(), fresh_dw = !w.has_grad();
      Tensor dx = x.requires_grad() ? ctx.grad_buffer(x) : Tensor();
      Tensor dw = w.requires_grad() ? ctx.grad_buffer(w) : Tensor();
      Tensor db = b.defined() && b.requires_grad() ? ctx.grad_buffer(b) : Tensor();
      conv2d_backward(ctx, dx, dw, db, dy, x, w, g, fresh_dx, fresh_dw);
    });
  }
  return y;
}

CpuConvImpl cpu_conv_impl(Context& ctx) { return ctx.backend_cache<CpuConvChoice>().impl; }

void set_cpu_conv_impl(Context& ctx, CpuConvImpl impl) {
  DR_CHECK(DR_DNNL || impl == CpuConvImpl::kIm2col,
           "set_cpu_conv_impl: this build has no oneDNN (DR_DNNL=0); only kIm2col is available");
  ctx.backend_cache<CpuConvChoice>().impl = impl;
}

}  // namespace dr
