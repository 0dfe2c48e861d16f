#include "nn/host_cache.h"

#include <cstdlib>

#include "kernels/error.h"

namespace dr {

size_t HostBlockCache::round_size(size_t n) {
  const size_t kGrain = size_t(2) << 20;
  return (n + kGrain - 1) / kGrain * kGrain;
}

HostBlockCache::~HostBlockCache() { empty_cache(); }

void* HostBlockCache::allocate(size_t nbytes) {
  const size_t size = round_size(nbytes);
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Best fit, never more than twice the request (as CudaAllocator).
    auto it = free_.lower_bound(size);
    if (it != free_.end() && it->first <= 2 * size) {
      void* p = it->second;
      const size_t got = it->first;
      free_.erase(it);
      live_[p] = got;
      stats_.bytes_cached -= got;
      stats_.bytes_in_use += got;
      if (stats_.bytes_in_use > stats_.peak_in_use) stats_.peak_in_use = stats_.bytes_in_use;
      return p;
    }
  }
  void* p = std::aligned_alloc(64, size);
  if (!p) {  // drop the cache and try once more
    empty_cache();
    p = std::aligned_alloc(64, size);
  }
  DR_CHECK(p, "out of host memory allocating " << (size >> 20) << " MiB");
  std::lock_guard<std::mutex> lock(mu_);
  live_[p] = size;
  stats_.device_mallocs++;
  stats_.bytes_in_use += size;
  if (stats_.bytes_in_use > stats_.peak_in_use) stats_.peak_in_use = stats_.bytes_in_use;
  return p;
}

// nbytes is the request; the block may be larger (a cached one up to twice it).
void HostBlockCache::release(void* ptr, size_t nbytes) {
  std::unique_lock<std::mutex> lock(mu_);
  auto it = live_.find(ptr);
  const size_t size = it != live_.end() ? it->second : round_size(nbytes);
  if (it != live_.end()) live_.erase(it);
  stats_.bytes_in_use -= size;
  if (stats_.bytes_cached + size > max_cached_) {
    lock.unlock();
    std::free(ptr);
    return;
  }
  free_.emplace(size, ptr);
  stats_.bytes_cached += size;
}

void HostBlockCache::empty_cache() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& kv : free_) std::free(kv.second);
  free_.clear();
  stats_.bytes_cached = 0;
}

AllocatorStats HostBlockCache::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace dr
