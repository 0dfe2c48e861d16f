// Launchers for the per-box ops of kernels/box.cuh. Argument order: outputs, inputs,
// sizes. All outputs are overwritten (these ops have no backward). Boxes are rows of 4.
#pragma once
#include <cstdint>

#include "kernels/box.cuh"
#if DR_CUDA
#include <cuda_runtime.h>
#endif

namespace dr::kern {

template <class T> void box_area_cpu(T* out, const T* boxes, int64_t n);  // (n) <- (n, 4)
// (n, m) <- (n, 4), (m, 4)
template <class T> void box_iou_cpu(T* out, const T* a, int64_t n, const T* b, int64_t m);
template <class T> void clip_boxes_cpu(T* out, const T* boxes, int64_t n, T height, T width);
template <class T> void box_big_enough_cpu(uint8_t* keep, const T* boxes, int64_t n, T min_size);
// (n, 4) <- ref (n, 4), prop (n, 4)
template <class T>
void encode_boxes_cpu(T* out, const T* ref, const T* prop, int64_t n, CoderWeights<T> w);
// (n, c*4) <- codes (n, c*4), boxes (n, 4): every one of the c codes of row i uses box i.
template <class T>
void decode_boxes_cpu(T* out, const T* codes, const T* boxes, int64_t n, int64_t c,
                      CoderWeights<T> w);
// (h*w*a, 4) <- base (a, 4); row order (y, x, k) as torchvision.
template <class T>
void grid_anchors_cpu(T* out, const T* base, int64_t a, int64_t h, int64_t w, int64_t stride_h,
                      int64_t stride_w);
template <class T> void scale_boxes_cpu(T* out, const T* boxes, int64_t n, T ratio_h, T ratio_w);

#if DR_CUDA
void box_area_cuda(float* out, const float* boxes, int64_t n, cudaStream_t s);
void box_iou_cuda(float* out, const float* a, int64_t n, const float* b, int64_t m, cudaStream_t s);
void clip_boxes_cuda(float* out, const float* boxes, int64_t n, float height, float width,
                     cudaStream_t s);
void box_big_enough_cuda(uint8_t* keep, const float* boxes, int64_t n, float min_size,
                         cudaStream_t s);
void encode_boxes_cuda(float* out, const float* ref, const float* prop, int64_t n,
                       CoderWeights<float> w, cudaStream_t s);
void decode_boxes_cuda(float* out, const float* codes, const float* boxes, int64_t n, int64_t c,
                       CoderWeights<float> w, cudaStream_t s);
void grid_anchors_cuda(float* out, const float* base, int64_t a, int64_t h, int64_t w,
                       int64_t stride_h, int64_t stride_w, cudaStream_t s);
void scale_boxes_cuda(float* out, const float* boxes, int64_t n, float ratio_h, float ratio_w,
                      cudaStream_t s);

// Stream compaction: out_idx[0..count) = the indices i with flags[i] != 0, ascending;
// *d_count (device) receives count. temp_bytes from flagged_indices_temp_bytes(n).
size_t flagged_indices_temp_bytes(int64_t n);
void flagged_indices_cuda(int64_t* out_idx, int* d_count, const uint8_t* flags, int64_t n,
                          void* temp, size_t temp_bytes, cudaStream_t s);
#endif

}  // namespace dr::kern
