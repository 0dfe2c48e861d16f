// Backend/dtype dispatch for functional ops: CPU ops run in f32 or f64 (f64 is the
// finite-difference reference), CUDA ops in f32.
#pragma once
#include "nn/tensor.h"

// DR_DISPATCH_FLOAT(t.dtype(), T, { kern::foo_cpu<T>(...); }) runs the body with T bound.
#define DR_DISPATCH_FLOAT(dtype, T, ...)                                             \
  switch (dtype) {                                                                   \
    case ::dr::DType::F32: { using T = float; __VA_ARGS__; break; }                  \
    case ::dr::DType::F64: { using T = double; __VA_ARGS__; break; }                 \
    default: DR_FAIL("expected a floating tensor, got " << ::dr::dtype_name(dtype)); \
  }

#if DR_CUDA
#define DR_IF_CUDA(...) __VA_ARGS__
#else
#define DR_IF_CUDA(...) DR_FAIL("CUDA op called in a CPU-only build (GPU=0)")
#endif
