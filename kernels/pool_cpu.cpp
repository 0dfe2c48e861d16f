// CPU loops for max pooling; the arithmetic is in kernels/pool.cuh.
#include "kernels/pool.cuh"
#include "kernels/pool.h"

namespace dr::kern {

template <class T>
void maxpool2d_forward_cpu(T* y, int64_t* argmax, const T* x, int64_t NC, int64_t H, int64_t W,
                           int64_t OH, int64_t OW, int kernel, int stride, int pad) {
#pragma omp parallel for
  for (int64_t p = 0; p < NC; ++p)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        const int64_t o = (p * OH + oh) * OW + ow;
        maxpool_window<T>(y + o, argmax ? argmax + o : nullptr, x + p * H * W, H, W, oh, ow,
                          kernel, stride, pad);
      }
}

template <class T>
void maxpool2d_backward_cpu(T* dx, const T* dy, const int64_t* argmax, int64_t NC, int64_t H,
                            int64_t W, int64_t OH, int64_t OW, int kernel, int stride, int pad) {
#pragma omp parallel for
  for (int64_t p = 0; p < NC; ++p)
    for (int64_t ih = 0; ih < H; ++ih)
      for (int64_t iw = 0; iw < W; ++iw)
        dx[(p * H + ih) * W + iw] += maxpool_input_grad<T>(
            dy + p * OH * OW, argmax + p * OH * OW, OH, OW, W, ih, iw, kernel, stride, pad);
}

template void maxpool2d_forward_cpu<float>(float*, int64_t*, const float*, int64_t, int64_t,
                                           int64_t, int64_t, int64_t, int, int, int);
template void maxpool2d_forward_cpu<double>(double*, int64_t*, const double*, int64_t, int64_t,
                                            int64_t, int64_t, int64_t, int, int, int);
template void maxpool2d_backward_cpu<float>(float*, const float*, const int64_t*, int64_t,
                                            int64_t, int64_t, int64_t, int64_t, int, int, int);
template void maxpool2d_backward_cpu<double>(double*, const double*, const int64_t*, int64_t,
                                             int64_t, int64_t, int64_t, int64_t, int, int, int);

}  // namespace dr::kern
