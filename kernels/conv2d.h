// conv2d launchers (torch.nn.functional.conv2d: cross-correlation, zero padding,
// dilation, groups). Argument order: outputs, inputs, parameters, geometry, scratch.
// Forward overwrites y (bias is kernels/bias.h); backward ACCUMULATES (+=) into dx and dw,
// either of which may be null when that gradient is not needed.
//   y (N, O, OH, OW), x (N, C, H, W), w (O, C/groups, KH, KW)
// CPU f32: oneDNN (kernels/conv2d_dnnl.cpp) when built with DR_DNNL=1, unless a Context
// forces the fallback; CPU f64 and the fallback: im2col (kernels/im2col.cuh) + BLAS GEMM per
// group, several small images per GEMM.
// CUDA: cuDNN (kernels/conv2d_cudnn.cpp).
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>

#include "kernels/im2col.cuh"
#if DR_CUDA
#include <cudnn.h>
#endif

namespace dr::kern {

// Elements of T the CPU conv forward / backward needs as scratch for this geometry (may be 0).
int64_t conv2d_cpu_scratch(const ConvGeom& g, bool backward);

template <class T>
void conv2d_forward_cpu(T* y, const T* x, const T* w, const ConvGeom& g, T* scratch);
template <class T>
void conv2d_backward_cpu(T* dx, T* dw, const T* dy, const T* x, const T* w, const ConvGeom& g,
                         T* scratch);

// The CPU building blocks, exposed for tests. x is one image's group slice (Cg, H, W);
// col is (Kc, P) with row stride ld. im2col overwrites col; col2im adds into x.
template <class T> void im2col_cpu(T* col, int64_t ld, const T* x, const ConvGeom& g);
template <class T> void col2im_add_cpu(T* x, const T* col, int64_t ld, const ConvGeom& g);

#if DR_DNNL
// oneDNN convolution on the CPU, f32, plain NCHW / OIHW tensors. One per Context
// (Context::backend_cache<DnnlConv>()): primitives, their reorders and scratch buffers are
// created once per geometry and reused. Not thread-safe (one Context, one thread).
class DnnlConv {
 public:
  // The memory layout the primitives compute in: our plain NCHW / OIHW, or the blocked
  // layouts oneDNN prefers (nChw16c, ...) with reorders on the way in and out. kAuto picks
  // per geometry.
  enum class Layout { kAuto, kPlain, kBlocked };

  DnnlConv();
  ~DnnlConv();
  DnnlConv(const DnnlConv&) = delete;
  DnnlConv& operator=(const DnnlConv&) = delete;

  // y (N, O, OH, OW) = relu?(conv(x, w) + b + residual); b (O) and residual (N, O, OH, OW)
  // may be null (residual may not alias y). Overwrites y.
  void forward(float* y, const float* x, const float* w, const float* b, const ConvGeom& g,
               const float* residual = nullptr, bool relu = false);
  // dx (N, C, H, W) += conv_transpose(dy, w) and dw (O, C/groups, KH, KW) += correlation of
  // x with dy; either may be null (not wanted). With accumulate_* false that buffer is
  // overwritten instead (for a buffer known to hold zeros: the same result, one pass less).
  void backward(float* dx, float* dw, const float* dy, const float* x, const float* w,
                const ConvGeom& g, bool accumulate_dx = true, bool accumulate_dw = true);

  // Both drop the cached primitives when they change the setting.
  void set_layout(Layout l);
  // Winograd for the 3x3 stride-1 convs where it pays (default on); off: direct convs only,
  // which round like torch's oneDNN convolutions.
  void set_winograd(bool allow);
  // oneDNN's implementation name for a direction (0 forward, 1 backward data, 2 backward
  // weights), e.g. "jit:avx512_core" or "gemm:jit": benchmarks and tests print it.
  std::string implementation(const ConvGeom& g, int direction);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};
#endif

#if DR_CUDA
// cuDNN algorithms chosen for one geometry (heuristics, once per shape).
struct CudnnConvAlgos {
  bool have_fwd = false, have_bwd_data = false, have_bwd_filter = false;
  cudnnConvolutionFwdAlgo_t fwd{};
  cudnnConvolutionBwdDataAlgo_t bwd_data{};
  cudnnConvolutionBwdFilterAlgo_t bwd_filter{};
  size_t fwd_ws = 0, bwd_data_ws = 0, bwd_filter_ws = 0;
};
// Per-Context cache (Context::backend_cache<CudnnConvCache>()), keyed by the geometry.
struct CudnnConvCache {
  using Key = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int, int,
                         int, int, int, int, int>;
  std::map<Key, CudnnConvAlgos> algos;
  static Key key(const ConvGeom& g) {
    return Key{g.N, g.C, g.H, g.W, g.O, g.KH, g.KW, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw, g.groups};
  }
};
// What a cuDNN call needs from the Context: its handle (bound to the stream), the
// algorithm cache and the scratch workspace (grows, reused).
struct CudnnEnv {
  cudnnHandle_t handle;
  CudnnConvCache* cache;
  std::function<void*(size_t)> workspace;
};
void conv2d_forward_cudnn(const CudnnEnv& env, float* y, const float* x, const float* w,
                          const ConvGeom& g);
void conv2d_backward_data_cudnn(const CudnnEnv& env, float* dx, const float* dy, const float* w,
                                const ConvGeom& g);  // dx +=
void conv2d_backward_filter_cudnn(const CudnnEnv& env, float* dw, const float* dy, const float* x,
                                  const ConvGeom& g);  // dw +=
#endif

}  // namespace dr::kern
