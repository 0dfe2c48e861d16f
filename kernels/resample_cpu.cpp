// CPU loops for nearest upsampling and bilinear resizing; math in kernels/resample.cuh.
#include <vector>

#include "kernels/resample.cuh"
#include "kernels/resample.h"

namespace dr::kern {

template <class T>
void upsample_nearest_forward_cpu(T* y, const T* x, int64_t NC, int64_t H, int64_t W,
                                  int64_t OH, int64_t OW) {
#pragma omp parallel for
  for (int64_t p = 0; p < NC; ++p)
    for (int64_t oh = 0; oh < OH; ++oh) {
      const T* row = x + (p * H + nearest_src_index(oh, H, OH)) * W;
      for (int64_t ow = 0; ow < OW; ++ow)
        y[(p * OH + oh) * OW + ow] = row[nearest_src_index(ow, W, OW)];
    }
}

// The output block of each input row and column is found once (nearest_dst_range), not
// per element; each input element then sums its block in the same order as
// nearest_input_grad (rows, then columns), so the result equals the CUDA kernel's.
template <class T>
void upsample_nearest_backward_cpu(T* dx, const T* dy, int64_t NC, int64_t H, int64_t W,
                                   int64_t OH, int64_t OW) {
  std::vector<int64_t> rows(2 * H), cols(2 * W);
  for (int64_t ih = 0; ih < H; ++ih) nearest_dst_range(ih, H, OH, &rows[2 * ih], &rows[2 * ih + 1]);
  for (int64_t iw = 0; iw < W; ++iw) nearest_dst_range(iw, W, OW, &cols[2 * iw], &cols[2 * iw + 1]);
#pragma omp parallel for
  for (int64_t p = 0; p < NC; ++p) {
    const T* plane = dy + p * OH * OW;
    for (int64_t ih = 0; ih < H; ++ih)
      for (int64_t iw = 0; iw < W; ++iw) {
        T g = T(0);
        for (int64_t oh = rows[2 * ih]; oh < rows[2 * ih + 1]; ++oh)
          for (int64_t ow = cols[2 * iw]; ow < cols[2 * iw + 1]; ++ow) g += plane[oh * OW + ow];
        dx[(p * H + ih) * W + iw] += g;
      }
  }
}

template <class T>
void resize_bilinear_cpu(T* y, const T* x, int64_t NC, int64_t H, int64_t W, int64_t OH,
                         int64_t OW) {
#pragma omp parallel for
  for (int64_t p = 0; p < NC; ++p)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow)
        y[(p * OH + oh) * OW + ow] = bilinear_at<T>(x + p * H * W, H, W, OH, OW, oh, ow);
}

#define DR_INSTANTIATE_RESAMPLE(T)                                                              \
  template void upsample_nearest_forward_cpu<T>(T*, const T*, int64_t, int64_t, int64_t,        \
                                                int64_t, int64_t);                              \
  template void upsample_nearest_backward_cpu<T>(T*, const T*, int64_t, int64_t, int64_t,       \
                                                 int64_t, int64_t);                             \
  template void resize_bilinear_cpu<T>(T*, const T*, int64_t, int64_t, int64_t, int64_t, int64_t);
DR_INSTANTIATE_RESAMPLE(float)
DR_INSTANTIATE_RESAMPLE(double)

}  // namespace dr::kern
