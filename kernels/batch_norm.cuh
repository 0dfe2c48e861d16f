// Per-element and per-channel math of batch norm (torch.nn.functional.batch_norm) and
// torchvision.ops.misc.FrozenBatchNorm2d, shared by the CPU loops and the CUDA kernels.
//
// Every mode is one affine map per channel, y = x * scale[c] + shift[c], as torch's CPU
// kernel (batch_norm_cpu_transform_input) and FrozenBatchNorm2d.forward compute it:
//   scale = w * invstd,  shift = b - mean * scale,  invstd = 1 / sqrt(var + eps)
// with (mean, var) the batch statistics (training, biased var) or the running ones
// (eval, frozen). Only the statistics and the backward differ between the modes.
#pragma once
#include <cmath>

#include "kernels/hd.cuh"

namespace dr::kern {

HD float bn_sqrt(float v) { return sqrtf(v); }
HD double bn_sqrt(double v) { return sqrt(v); }

template <class T> HD T bn_invstd(T var, T eps) { return T(1) / bn_sqrt(var + eps); }

// w or b may be absent (affine=False): identity weight, zero bias.
template <class T>
HD void bn_coeffs(T* scale, T* shift, T mean, T invstd, const T* w, const T* b, int64_t c) {
  T s = (w ? w[c] : T(1)) * invstd;
  *scale = s;
  *shift = (b ? b[c] : T(0)) - mean * s;
}

template <class T> HD T bn_apply(T x, T scale, T shift) { return x * scale + shift; }

// torch: running = (1 - momentum) * running + momentum * batch, where the batch variance
// is the unbiased one (var_biased * n / (n - 1)).
template <class T> HD T bn_running(T running, T batch, T momentum) {
  return (T(1) - momentum) * running + momentum * batch;
}

// Training-mode input gradient (the batch statistics depend on x), with
// xhat = (x - mean) * invstd and the per-channel means of dy and dy * xhat:
//   dx = w * invstd * (dy - mean(dy) - xhat * mean(dy * xhat))
template <class T>
HD T bn_train_dx(T dy, T x, T mean, T invstd, T w, T mean_dy, T mean_dy_xhat) {
  T xhat = (x - mean) * invstd;
  return w * invstd * (dy - mean_dy - xhat * mean_dy_xhat);
}

}  // namespace dr::kern
