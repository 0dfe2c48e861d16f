// CUDA launches for kernels/box.h: one thread per box (or box pair / anchor), grid-stride.
#include <cub/device/device_select.cuh>
#include <thrust/iterator/counting_iterator.h>

#include "kernels/box.h"
#include "kernels/cuda_check.h"
#include "kernels/launch.cuh"

namespace dr::kern {

__global__ void box_area_kernel(float* out, const float* boxes, int64_t n) {
  DR_GRID_LOOP(i, n) out[i] = box_area(boxes + 4 * i);
}
__global__ void box_iou_kernel(float* out, const float* a, int64_t n, const float* b, int64_t m) {
  DR_GRID_LOOP(k, n * m) out[k] = box_iou_pair(a + 4 * (k / m), b + 4 * (k % m));
}
__global__ void clip_boxes_kernel(float* out, const float* boxes, int64_t n, float h, float w) {
  DR_GRID_LOOP(i, n) clip_box(out + 4 * i, boxes + 4 * i, h, w);
}
__global__ void box_big_enough_kernel(uint8_t* keep, const float* boxes, int64_t n, float min_size) {
  DR_GRID_LOOP(i, n) keep[i] = box_big_enough(boxes + 4 * i, min_size) ? 1 : 0;
}
__global__ void encode_boxes_kernel(float* out, const float* ref, const float* prop, int64_t n,
                                    CoderWeights<float> w) {
  DR_GRID_LOOP(i, n) encode_box(out + 4 * i, ref + 4 * i, prop + 4 * i, w);
}
__global__ void decode_boxes_kernel(float* out, const float* codes, const float* boxes, int64_t n,
                                    int64_t c, CoderWeights<float> w) {
  DR_GRID_LOOP(k, n * c) decode_box(out + 4 * k, codes + 4 * k, boxes + 4 * (k / c), w);
}
__global__ void grid_anchors_kernel(float* out, const float* base, int64_t a, int64_t h, int64_t w,
                                    int64_t sh, int64_t sw) {
  DR_GRID_LOOP(i, h * w * a) {
    int64_t k = i % a, cell = i / a;
    grid_anchor(out + 4 * i, base + 4 * k, cell / w, cell % w, sh, sw);
  }
}
__global__ void scale_boxes_kernel(float* out, const float* boxes, int64_t n, float rh, float rw) {
  DR_GRID_LOOP(i, n) scale_box(out + 4 * i, boxes + 4 * i, rh, rw);
}

void box_area_cuda(float* out, const float* boxes, int64_t n, cudaStream_t s) {
  if (n == 0) return;
  box_area_kernel<<<blocks_for(n), kThreads, 0, s>>>(out, boxes, n);
  CUDA_CHECK_LAUNCH(s);
}
void box_iou_cuda(float* out, const float* a, int64_t n, const float* b, int64_t m, cudaStream_t s) {
  if (n * m == 0) return;
  box_iou_kernel<<<blocks_for(n * m), kThreads, 0, s>>>(out, a, n, b, m);
  CUDA_CHECK_LAUNCH(s);
}
void clip_boxes_cuda(float* out, const float* boxes, int64_t n, float height, float width,
                     cudaStream_t s) {
  if (n == 0) return;
  clip_boxes_kernel<<<blocks_for(n), kThreads, 0, s>>>(out, boxes, n, height, width);
  CUDA_CHECK_LAUNCH(s);
}
void box_big_enough_cuda(uint8_t* keep, const float* boxes, int64_t n, float min_size,
                         cudaStream_t s) {
  if (n == 0) return;
  box_big_enough_kernel<<<blocks_for(n), kThreads, 0, s>>>(keep, boxes, n, min_size);
  CUDA_CHECK_LAUNCH(s);
}
void encode_boxes_cuda(float* out, const float* ref, const float* prop, int64_t n,
                       CoderWeights<float> w, cudaStream_t s) {
  if (n == 0) return;
  encode_boxes_kernel<<<blocks_for(n), kThreads, 0, s>>>(out, ref, prop, n, w);
  CUDA_CHECK_LAUNCH(s);
}
void decode_boxes_cuda(float* out, const float* codes, const float* boxes, int64_t n, int64_t c,
                       CoderWeights<float> w, cudaStream_t s) {
  if (n * c == 0) return;
  decode_boxes_kernel<<<blocks_for(n * c), kThreads, 0, s>>>(out, codes, boxes, n, c, w);
  CUDA_CHECK_LAUNCH(s);
}
void grid_anchors_cuda(float* out, const float* base, int64_t a, int64_t h, int64_t w,
                       int64_t stride_h, int64_t stride_w, cudaStream_t s) {
  if (a * h * w == 0) return;
  grid_anchors_kernel<<<blocks_for(a * h * w), kThreads, 0, s>>>(out, base, a, h, w, stride_h,
                                                                  stride_w);
  CUDA_CHECK_LAUNCH(s);
}
void scale_boxes_cuda(float* out, const float* boxes, int64_t n, float ratio_h, float ratio_w,
                      cudaStream_t s) {
  if (n == 0) return;
  scale_boxes_kernel<<<blocks_for(n), kThreads, 0, s>>>(out, boxes, n, ratio_h, ratio_w);
  CUDA_CHECK_LAUNCH(s);
}

size_t flagged_indices_temp_bytes(int64_t n) {
  size_t bytes = 0;
  thrust::counting_iterator<int64_t> idx(0);
  CUDA_CHECK(cub::DeviceSelect::Flagged(nullptr, bytes, idx, (const uint8_t*)nullptr,
                                        (int64_t*)nullptr, (int*)nullptr, (int)n));
  return bytes;
}

void flagged_indices_cuda(int64_t* out_idx, int* d_count, const uint8_t* flags, int64_t n,
                          void* temp, size_t temp_bytes, cudaStream_t s) {
  if (n == 0) {
    CUDA_CHECK(cudaMemsetAsync(d_count, 0, sizeof(int), s));
    return;
  }
  thrust::counting_iterator<int64_t> idx(0);
  CUDA_CHECK(cub::DeviceSelect::Flagged(temp, temp_bytes, idx, flags, out_idx, d_count, (int)n, s));
  CUDA_CHECK_LAUNCH(s);
}

}  // namespace dr::kern
