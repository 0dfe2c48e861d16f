// Launchers for the image ops of the detection transform (math in kernels/image.cuh).
// Outputs are overwritten.
#pragma once
#include <cstdint>

#include "kernels/image.cuh"
#if DR_CUDA
#include <cuda_runtime.h>
#endif

namespace dr::kern {

constexpr int kMaxImageChannels = 4;
template <class T> struct ChannelStats {
  T mean[kMaxImageChannels], std[kMaxImageChannels];
};

// out (C, HW) <- in (C, HW): per-channel normalize.
template <class T>
void normalize_cpu(T* out, const T* in, int64_t c, int64_t hw, const ChannelStats<T>& st);
// dst (C, dst_h, dst_w) top-left block <- src (C, h, w); the rest of dst is untouched.
template <class T>
void paste_cpu(T* dst, int64_t dst_h, int64_t dst_w, const T* src, int64_t c, int64_t h, int64_t w);

#if DR_CUDA
void normalize_cuda(float* out, const float* in, int64_t c, int64_t hw,
                    const ChannelStats<float>& st, cudaStream_t s);
void paste_cuda(float* dst, int64_t dst_h, int64_t dst_w, const float* src, int64_t c, int64_t h,
                int64_t w, cudaStream_t s);
#endif

}  // namespace dr::kern
