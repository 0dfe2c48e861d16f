#include "nn/allocator.h"

#include "kernels/cuda_check.h"

namespace dr {

size_t CudaAllocator::round_size(size_t n) {
  const size_t kSmall = 512, kLarge = size_t(1) << 20;
  if (n < kLarge) return (n + kSmall - 1) / kSmall * kSmall;
  return (n + kLarge - 1) / kLarge * kLarge;
}

#if DR_CUDA
CudaAllocator::CudaAllocator(int device) : device_(device) {}

CudaAllocator::~CudaAllocator() { empty_cache(); }

void* CudaAllocator::allocate(size_t nbytes) {
  size_t size = round_size(nbytes ? nbytes : 1);
  std::lock_guard<std::mutex> lock(mu_);
  // Best fit, but never hand out a block more than twice the request: a huge cached
  // block serving a tiny request would pin memory that a big request needs next.
  auto it = free_.lower_bound(size);
  if (it != free_.end() && it->first <= 2 * size) {
    void* p = it->second;
    size_t got = it->first;
    free_.erase(it);
    live_[p] = got;
    stats_.bytes_cached -= got;
    stats_.bytes_in_use += got;
    if (stats_.bytes_in_use > stats_.peak_in_use) stats_.peak_in_use = stats_.bytes_in_use;
    return p;
  }
  CUDA_CHECK(cudaSetDevice(device_));
  void* p = nullptr;
  cudaError_t err = cudaMalloc(&p, size);
  if (err == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // clear the sticky-free error, drop the cache, try once more
    for (auto& kv : free_) cudaFree(kv.second);
    free_.clear();
    stats_.bytes_cached = 0;
    err = cudaMalloc(&p, size);
  }
  if (err != cudaSuccess) {
    cudaGetLastError();
    DR_FAIL("CUDA out of memory on cuda:" << device_ << " allocating " << (size >> 20)
                                          << " MiB (" << (stats_.bytes_in_use >> 20)
                                          << " MiB in use by tensors): " << cudaGetErrorString(err));
  }
  stats_.device_mallocs++;
  live_[p] = size;
  stats_.bytes_in_use += size;
  if (stats_.bytes_in_use > stats_.peak_in_use) stats_.peak_in_use = stats_.bytes_in_use;
  return p;
}

// nbytes is the request; the block may be larger (a cached one up to twice it), and goes
// back to the free list at its own size.
void CudaAllocator::release(void* ptr, size_t nbytes) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = live_.find(ptr);
  const size_t size = it != live_.end() ? it->second : round_size(nbytes ? nbytes : 1);
  if (it != live_.end()) live_.erase(it);
  free_.emplace(size, ptr);
  stats_.bytes_in_use -= size;
  stats_.bytes_cached += size;
}

void CudaAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& kv : free_) cudaFree(kv.second);  // no throw in destructors' path
  free_.clear();
  stats_.bytes_cached = 0;
}
#else
CudaAllocator::CudaAllocator(int device) : device_(device) {
  DR_FAIL("cuda:" << device << " requested but this build has no CUDA (built with GPU=0)");
}
CudaAllocator::~CudaAllocator() {}
void* CudaAllocator::allocate(size_t) { DR_FAIL("CUDA allocation in a CPU-only build"); }
void CudaAllocator::release(void*, size_t) {}
void CudaAllocator::empty_cache() {}
#endif

AllocatorStats CudaAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace dr
