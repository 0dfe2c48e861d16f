// Per-channel bias of conv2d and linear outputs laid out (outer, C, inner): conv2d is
// (N, O, OH*OW), linear is (N, out, 1). Forward adds b[c]; backward sums dy over
// outer and inner per channel (torch's bias gradient of conv2d / linear).
#pragma once
#include "kernels/hd.cuh"

namespace dr::kern {

// Channel of flat element i of an (outer, C, inner) tensor.
HD int64_t bias_channel(int64_t i, int64_t C, int64_t inner) { return (i / inner) % C; }

// Flat index of element j (of outer*inner) of channel c.
HD int64_t bias_element(int64_t c, int64_t j, int64_t C, int64_t inner) {
  return ((j / inner) * C + c) * inner + j % inner;
}

}  // namespace dr::kern
