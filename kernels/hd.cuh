// HD marks per-element math shared by the CUDA kernels and the CPU loops:
// __host__ __device__ under nvcc, nothing under g++. Every op's arithmetic lives
// in one such inline function so CPU tests exercise exactly the GPU's math.
#pragma once
#if defined(__CUDACC__)
#define HD __host__ __device__ __forceinline__
#else
#define HD inline
#endif
#include <cstdint>
