#include "nn/allocator.h"

#include "kernels/cuda_check.h"

namespace dr {

size_t CudaAllocator::round_size(size_t n) {
  const size_t kSmall = 512, kLarge = size_t(1) << 20;
  if (n < kLarge) return (n + kSmall - 1) / kSmall * kSmall;
  return (n + kLarge - 1) / kLarge * kLarge;
}

void* BlockPool::take(size_t size) {
  auto it = free_.lower_bound(size);
  if (it == free_.end() || it->first > 2 * size) return nullptr;
  void* p = it->second;
  const size_t got = it->first;
  free_.erase(it);
  live_[p] = got;
  stats.bytes_cached -= got;
  stats.bytes_in_use += got;
  if (stats.bytes_in_use > stats.peak_in_use) stats.peak_in_use = stats.bytes_in_use;
  return p;
}

void BlockPool::add_new(void* ptr, size_t size) {
  live_[ptr] = size;
  stats.device_mallocs++;
  stats.bytes_in_use += size;
  if (stats.bytes_in_use > stats.peak_in_use) stats.peak_in_use = stats.bytes_in_use;
}

size_t BlockPool::end_use(void* ptr, size_t fallback) {
  auto it = live_.find(ptr);
  const size_t size = it != live_.end() ? it->second : fallback;
  if (it != live_.end()) live_.erase(it);
  stats.bytes_in_use -= size;
  return size;
}

void BlockPool::cache(void* ptr, size_t size) {
  free_.emplace(size, ptr);
  stats.bytes_cached += size;
}

#if DR_CUDA
CudaAllocator::CudaAllocator(int device) : device_(device) {}

CudaAllocator::~CudaAllocator() { empty_cache(); }

void* CudaAllocator::allocate(size_t nbytes) {
  size_t size = round_size(nbytes ? nbytes : 1);
  std::lock_guard<std::mutex> lock(mu_);
  if (void* p = pool_.take(size)) return p;
  CUDA_CHECK(cudaSetDevice(device_));
  void* p = nullptr;
  cudaError_t err = cudaMalloc(&p, size);
  if (err == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // clear the sticky-free error, drop the cache, try once more
    pool_.drain([](void* q) { cudaFree(q); });
    err = cudaMalloc(&p, size);
  }
  if (err != cudaSuccess) {
    cudaGetLastError();
    DR_FAIL("CUDA out of memory on cuda:" << device_ << " allocating " << (size >> 20)
                                          << " MiB (" << (pool_.stats.bytes_in_use >> 20)
                                          << " MiB in use by tensors): " << cudaGetErrorString(err));
  }
  pool_.add_new(p, size);
  return p;
}

void CudaAllocator::release(void* ptr, size_t nbytes) {
  std::lock_guard<std::mutex> lock(mu_);
  pool_.cache(ptr, pool_.end_use(ptr, round_size(nbytes ? nbytes : 1)));
}

void CudaAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mu_);
  pool_.drain([](void* q) { cudaFree(q); });  // no throw in destructors' path
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
  return pool_.stats;
}

}  // namespace dr
