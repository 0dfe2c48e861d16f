// CUDA launches for kernels/roi_align.h: one thread per output element (K*C*PH*PW);
// backward scatters with atomicAdd (RoIs overlap).
#include "kernels/cuda_check.h"
#include "kernels/launch.cuh"
#include "kernels/roi_align.h"

namespace dr::kern {

namespace {

struct AtomicAdd {
  __device__ void operator()(float* p, float v) const { atomicAdd(p, v); }
};

__global__ void roi_align_forward_kernel(float* out, RoiLevels<float> L, const float* rois,
                                         RoiAlignArgs a) {
  const int64_t bins = int64_t(a.pooled_h) * a.pooled_w, n = a.num_rois * a.channels * bins;
  DR_GRID_LOOP(i, n) {
    const int pw = static_cast<int>(i % a.pooled_w), ph = static_cast<int>((i / a.pooled_w) % a.pooled_h);
    const int64_t c = (i / bins) % a.channels, k = i / bins / a.channels;
    const float* roi = rois + 5 * k;
    const int l = roi_level(roi + 1, L);
    const int64_t H = L.height[l], W = L.width[l], b = static_cast<int64_t>(roi[0]);
    const RoiGeom<float> g = roi_geometry(roi + 1, L.scale[l], a.pooled_h, a.pooled_w,
                                          a.sampling_ratio, a.aligned);
    out[i] = roi_align_bin(L.data[l] + (b * a.channels + c) * H * W, H, W, g, ph, pw);
  }
}

__global__ void roi_align_backward_kernel(RoiLevels<float> L, const float* grad_out,
                                          const float* rois, RoiAlignArgs a) {
  const int64_t bins = int64_t(a.pooled_h) * a.pooled_w, n = a.num_rois * a.channels * bins;
  DR_GRID_LOOP(i, n) {
    const int pw = static_cast<int>(i % a.pooled_w), ph = static_cast<int>((i / a.pooled_w) % a.pooled_h);
    const int64_t c = (i / bins) % a.channels, k = i / bins / a.channels;
    const float* roi = rois + 5 * k;
    const int l = roi_level(roi + 1, L);
    if (!L.data[l]) continue;  // that level needs no gradient
    const int64_t H = L.height[l], W = L.width[l], b = static_cast<int64_t>(roi[0]);
    const RoiGeom<float> g = roi_geometry(roi + 1, L.scale[l], a.pooled_h, a.pooled_w,
                                          a.sampling_ratio, a.aligned);
    roi_align_bin_backward(L.data[l] + (b * a.channels + c) * H * W, H, W, g, ph, pw,
                           grad_out[i], AtomicAdd{});
  }
}

__global__ void roi_levels_kernel(int64_t* level, RoiLevels<float> L, const float* rois, int64_t k) {
  DR_GRID_LOOP(i, k) level[i] = roi_level(rois + 5 * i + 1, L);
}

__global__ void make_rois_kernel(float* rois, const float* boxes, int64_t n, float batch_index) {
  DR_GRID_LOOP(i, n * 5) {
    const int64_t r = i / 5, k = i % 5;
    rois[i] = k == 0 ? batch_index : boxes[4 * r + k - 1];
  }
}

}  // namespace

void make_rois_cuda(float* rois, const float* boxes, int64_t n, float batch_index, cudaStream_t s) {
  if (n == 0) return;
  make_rois_kernel<<<blocks_for(n * 5), kThreads, 0, s>>>(rois, boxes, n, batch_index);
  CUDA_CHECK_LAUNCH(s);
}

void roi_align_forward_cuda(float* out, const RoiLevels<float>& levels, const float* rois,
                            const RoiAlignArgs& a, cudaStream_t s) {
  const int64_t n = a.num_rois * a.channels * a.pooled_h * a.pooled_w;
  if (n == 0) return;
  roi_align_forward_kernel<<<blocks_for(n), kThreads, 0, s>>>(out, levels, rois, a);
  CUDA_CHECK_LAUNCH(s);
}

void roi_align_backward_cuda(const RoiLevels<float>& grad_levels, const float* grad_out,
                             const float* rois, const RoiAlignArgs& a, cudaStream_t s) {
  const int64_t n = a.num_rois * a.channels * a.pooled_h * a.pooled_w;
  if (n == 0) return;
  roi_align_backward_kernel<<<blocks_for(n), kThreads, 0, s>>>(grad_levels, grad_out, rois, a);
  CUDA_CHECK_LAUNCH(s);
}

void roi_levels_cuda(int64_t* level, const RoiLevels<float>& levels, const float* rois, int64_t k,
                     cudaStream_t s) {
  if (k == 0) return;
  roi_levels_kernel<<<blocks_for(k), kThreads, 0, s>>>(level, levels, rois, k);
  CUDA_CHECK_LAUNCH(s);
}

}  // namespace dr::kern
