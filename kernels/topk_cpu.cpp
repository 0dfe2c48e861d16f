// CPU top-n per level (kernels/topk.h): partial sort by (score desc, index asc).
#include <algorithm>
#include <numeric>

#include "kernels/topk.h"

namespace dr::kern {

template <class T>
void top_n_per_level_cpu(int64_t* out, const T* scores, int64_t n,
                         const std::vector<int64_t>& level_sizes, int64_t top_n) {
  int64_t a = 0, ktot = 0;
  for (int64_t s : level_sizes) {
    a += s;
    ktot += std::min(top_n, s);
  }
  std::vector<int64_t> idx;
  for (int64_t img = 0; img < n; ++img) {
    const T* sc = scores + img * a;
    int64_t off = 0, koff = 0;
    for (int64_t len : level_sizes) {
      const int64_t k = std::min(top_n, len);
      idx.resize(len);
      std::iota(idx.begin(), idx.end(), off);
      std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int64_t x, int64_t y) {
        return sc[x] > sc[y] || (sc[x] == sc[y] && x < y);
      });
      std::copy(idx.begin(), idx.begin() + k, out + img * ktot + koff);
      off += len;
      koff += k;
    }
  }
}

template void top_n_per_level_cpu<float>(int64_t*, const float*, int64_t,
                                         const std::vector<int64_t>&, int64_t);
template void top_n_per_level_cpu<double>(int64_t*, const double*, int64_t,
                                          const std::vector<int64_t>&, int64_t);

}  // namespace dr::kern
