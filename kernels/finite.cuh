// Per-element test of the non-finite check (NaN, +inf, -inf), shared by kernels/finite.cu
// and kernels/finite_cpu.cpp.
#pragma once
#include "kernels/hd.cuh"

namespace dr::kern {

// x - x is 0 for every finite x and NaN for NaN and +-inf, on host and device alike
// (the build does not use fast-math, which could fold x - x to 0).
template <class T> HD bool is_nonfinite(T x) { return !(x - x == T(0)); }

}  // namespace dr::kern
