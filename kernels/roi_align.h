// Launchers for RoIAlign / multi-level RoIAlign (math in kernels/roi_align.cuh).
// rois (K, 5): (batch index, x1, y1, x2, y2) in image coordinates, torchvision's roi
// format; each RoI pools from level roi_level(box) of `levels` (the only level when
// levels.n == 1). Output (K, C, PH, PW) is overwritten; backward ACCUMULATES (+=) into
// the gradient planes given in grad_levels (same shapes as the features); a null
// grad_levels.data[l] skips the RoIs of level l.
#pragma once
#include <cstdint>

#include "kernels/roi_align.cuh"
#if DR_CUDA
#include <cuda_runtime.h>
#endif

namespace dr::kern {

struct RoiAlignArgs {
  int64_t num_rois = 0, channels = 0;
  int pooled_h = 7, pooled_w = 7;
  int sampling_ratio = 2;
  bool aligned = false;
};

template <class T>
void roi_align_forward_cpu(T* out, const RoiLevels<T>& levels, const T* rois, const RoiAlignArgs& a);
template <class T>
void roi_align_backward_cpu(const RoiLevels<T>& grad_levels, const T* grad_out, const T* rois,
                            const RoiAlignArgs& a);
// level (K) <- rois (K, 5): the level each RoI pools from (MultiScaleRoIAlign's mapper).
template <class T> void roi_levels_cpu(int64_t* level, const RoiLevels<T>& levels, const T* rois,
                                       int64_t k);

#if DR_CUDA
void roi_align_forward_cuda(float* out, const RoiLevels<float>& levels, const float* rois,
                            const RoiAlignArgs& a, cudaStream_t s);
void roi_align_backward_cuda(const RoiLevels<float>& grad_levels, const float* grad_out,
                             const float* rois, const RoiAlignArgs& a, cudaStream_t s);
void roi_levels_cuda(int64_t* level, const RoiLevels<float>& levels, const float* rois, int64_t k,
                     cudaStream_t s);
#endif

}  // namespace dr::kern

namespace dr::kern {
// rois (n, 5) <- boxes (n, 4): (batch_index, x1, y1, x2, y2), torchvision's
// _convert_to_roi_format for one image's boxes.
template <class T> void make_rois_cpu(T* rois, const T* boxes, int64_t n, T batch_index);
#if DR_CUDA
void make_rois_cuda(float* rois, const float* boxes, int64_t n, float batch_index, cudaStream_t s);
#endif
}  // namespace dr::kern
