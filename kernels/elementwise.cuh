// Per-element math of the simple pointwise ops (ReLU, add, accumulate, scale).
// Mirrors torch.relu / torch.nn.functional.relu: backward passes dy where the
// *output* is positive (torch's threshold_backward on the result), so it is valid for
// the in-place variant too.
#pragma once
#include "kernels/hd.cuh"

namespace dr::kern {

template <class T> HD T relu_fwd(T x) { return x > T(0) ? x : T(0); }
template <class T> HD T relu_bwd(T dy, T y) { return y > T(0) ? dy : T(0); }

}  // namespace dr::kern
