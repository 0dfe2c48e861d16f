// Functional ops with autograd. Each takes the Context first, returns new tensors,
// and (when ctx.grad_enabled() and an input requires grad) records its backward on the
// tape. CPU: f32 or f64; CUDA: f32. Shapes are NCHW. Each op mirrors the torch function
// named beside it; the implementation file says where the numerics come from.
#pragma once
#include <utility>

#include "nn/context.h"
#include "nn/tensor.h"

namespace dr {

// ---- pointwise (nn/ops/pointwise.cpp) ----
Tensor relu(Context& ctx, const Tensor& x, bool inplace = false);  // torch.relu / relu_
Tensor add(Context& ctx, const Tensor& a, const Tensor& b);        // a + b, same shape
// dst += alpha * src, no autograd (gradient accumulation, optimizers); throws when src
// requires a gradient while recording.
void accumulate(Context& ctx, const Tensor& dst, const Tensor& src, double alpha = 1.0);
// (N, d1, d2, ...) -> (N, d1*d2*...): a view; gradients flow through the shared meta.
Tensor flatten(const Tensor& x, int start_dim = 1);

// ---- convolution and linear (nn/ops/conv2d.cpp, nn/ops/linear.cpp) ----
struct Conv2dArgs {
  int stride_h = 1, stride_w = 1;
  int pad_h = 0, pad_w = 0;
  int dilation_h = 1, dilation_w = 1;
  int groups = 1;
};
// x (N, C, H, W), w (O, C/groups, KH, KW), b (O) or undefined -> (N, O, OH, OW).
// torch.nn.functional.conv2d. CPU f32: oneDNN (or im2col + BLAS, see CpuConvImpl);
// CPU f64: im2col + BLAS GEMM; CUDA: cuDNN.
Tensor conv2d(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dArgs& a);
// Which implementation runs a context's f32 convolutions on the CPU (forward and both
// gradients), and with them the linear layers' f32 GEMMs. f64 always runs im2col +
// OpenBLAS, the finite-difference reference.
enum class CpuConvImpl {
  kOneDnn,        // oneDNN, with Winograd for the large 3x3 stride-1 convs (fastest)
  kOneDnnDirect,  // oneDNN direct convolutions only (rounds like torch's CPU convs)
  kIm2col,        // im2col + OpenBLAS GEMM; linear layers on OpenBLAS too
};
// The context's choice. Default: kOneDnn in a build with oneDNN (DR_DNNL=1), kIm2col
// without; the environment variable DR_CONV=onednn|onednn-direct|im2col overrides the
// default when a context first asks.
CpuConvImpl cpu_conv_impl(Context& ctx);
// Throws dr::Error for a oneDNN choice in a build without oneDNN.
void set_cpu_conv_impl(Context& ctx, CpuConvImpl impl);
// relu?(conv2d(x, w, b) * scale + shift + residual) as one op: conv -> frozen or eval-mode
// batch norm (scale, shift (O) from batch_norm_affine, or undefined for none) -> residual add
// (N, O, OH, OW) or undefined -> ReLU. On every backend the affine is folded into the conv
// (weights w * scale[o], bias b * scale + shift); on the CPU with oneDNN the add and the ReLU
// run inside the convolution (post-ops), elsewhere as add and relu. Gradients reach x, w, b and
// residual; scale and shift must not require one while recording.
struct ConvEpilogue {
  Tensor scale, shift;
  Tensor residual;
  bool relu = false;
};
Tensor conv2d_fused(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b,
                    const Conv2dArgs& a, const ConvEpilogue& e);
// x (N, in), w (out, in), b (out) or undefined -> (N, out). torch.nn.functional.linear.
// CPU f32: oneDNN sgemm (OpenBLAS when the context forces kIm2col); f64: OpenBLAS.
Tensor linear(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b);

// ---- normalization (nn/ops/batch_norm.cpp) ----
// torch.nn.functional.batch_norm. Training: normalizes with the batch statistics
// (biased variance) and updates running_mean/var in place with `momentum` and the
// unbiased variance, exactly as torch; eval: uses the running statistics.
// x (N, C, H, W); weight, bias, running_mean, running_var (C).
Tensor batch_norm2d(Context& ctx, const Tensor& x, const Tensor& weight, const Tensor& bias,
                    const Tensor& running_mean, const Tensor& running_var, bool training,
                    double momentum = 0.1, double eps = 1e-5);
// torchvision.ops.misc.FrozenBatchNorm2d: y = (x - rm) * w / sqrt(rv + eps) + b with
// fixed buffers; gradient flows to x only.
Tensor frozen_batch_norm2d(Context& ctx, const Tensor& x, const Tensor& weight, const Tensor& bias,
                           const Tensor& running_mean, const Tensor& running_var, double eps = 1e-5);
// The per-channel affine y = x * scale + shift that frozen_batch_norm2d and eval-mode
// batch_norm2d apply, as (scale, shift), each (C): scale = weight * rsqrt(running_var + eps),
// shift = bias - running_mean * scale (the same arithmetic). No autograd: the inputs must not
// require a gradient while recording (frozen norms, or eval forwards).
std::pair<Tensor, Tensor> batch_norm_affine(Context& ctx, const Tensor& weight, const Tensor& bias,
                                            const Tensor& running_mean,
                                            const Tensor& running_var, double eps);

// ---- pooling and resampling (nn/ops/pool.cpp, nn/ops/resample.cpp) ----
// torch.nn.functional.max_pool2d (floor mode, implicit -inf padding).
Tensor max_pool2d(Context& ctx, const Tensor& x, int kernel, int stride, int padding);
// torch.nn.functional.interpolate(mode="nearest", size=(out_h, out_w)):
// src = min(floor(dst * float(in) / float(out)), in - 1) with a float32 scale (torch's
// legacy nearest index rule; kernels/resample.cuh).
Tensor upsample_nearest(Context& ctx, const Tensor& x, int64_t out_h, int64_t out_w);
// torch.nn.functional.interpolate(mode="bilinear", align_corners=False, size=...):
// forward only (image preprocessing; throws on an x requiring a gradient while
// recording); x (N, C, H, W) or (C, H, W). For torch's
// interpolate(scale_factor=s, recompute_scale_factor=True) (GeneralizedRCNNTransform), pass
// out = floor(in * s) computed in double: torch then uses the scale in/out, as here.
Tensor resize_bilinear(Context& ctx, const Tensor& x, int64_t out_h, int64_t out_w);

}  // namespace dr
