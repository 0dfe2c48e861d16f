// CPU loops for kernels/image.h.
#include <cstring>

#include "kernels/image.h"

namespace dr::kern {

template <class T>
void normalize_cpu(T* out, const T* in, int64_t c, int64_t hw, const ChannelStats<T>& st) {
  for (int64_t k = 0; k < c; ++k)
    for (int64_t i = 0; i < hw; ++i)
      out[k * hw + i] = normalize_px(in[k * hw + i], st.mean[k], st.std[k]);
}

template <class T>
void paste_cpu(T* dst, int64_t dst_h, int64_t dst_w, const T* src, int64_t c, int64_t h, int64_t w) {
  for (int64_t k = 0; k < c; ++k)
    for (int64_t y = 0; y < h; ++y)
      std::memcpy(dst + (k * dst_h + y) * dst_w, src + (k * h + y) * w, sizeof(T) * w);
}

template void normalize_cpu<float>(float*, const float*, int64_t, int64_t, const ChannelStats<float>&);
template void normalize_cpu<double>(double*, const double*, int64_t, int64_t,
                                    const ChannelStats<double>&);
template void paste_cpu<float>(float*, int64_t, int64_t, const float*, int64_t, int64_t, int64_t);
template void paste_cpu<double>(double*, int64_t, int64_t, const double*, int64_t, int64_t, int64_t);

}  // namespace dr::kern
