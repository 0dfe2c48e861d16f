// CUDA launches for kernels/image.h.
#include "kernels/cuda_check.h"
#include "kernels/image.h"
#include "kernels/launch.cuh"

namespace dr::kern {

namespace {
__global__ void normalize_kernel(float* out, const float* in, int64_t c, int64_t hw,
                                 ChannelStats<float> st) {
  DR_GRID_LOOP(i, c * hw) {
    const int64_t k = i / hw;
    out[i] = normalize_px(in[i], st.mean[k], st.std[k]);
  }
}
}  // namespace

void normalize_cuda(float* out, const float* in, int64_t c, int64_t hw,
                    const ChannelStats<float>& st, cudaStream_t s) {
  if (c * hw == 0) return;
  normalize_kernel<<<blocks_for(c * hw), kThreads, 0, s>>>(out, in, c, hw, st);
  CUDA_CHECK_LAUNCH(s);
}

void paste_cuda(float* dst, int64_t dst_h, int64_t dst_w, const float* src, int64_t c, int64_t h,
                int64_t w, cudaStream_t s) {
  if (c * h * w == 0) return;
  // One strided 2-D copy: the C*h source rows land on rows k*dst_h + y of dst, which is
  // a constant pitch only per channel, so copy channel by channel.
  for (int64_t k = 0; k < c; ++k)
    CUDA_CHECK(cudaMemcpy2DAsync(dst + k * dst_h * dst_w, sizeof(float) * dst_w, src + k * h * w,
                                 sizeof(float) * w, sizeof(float) * w, h, cudaMemcpyDeviceToDevice,
                                 s));
}

}  // namespace dr::kern
