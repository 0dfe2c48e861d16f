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
    if (void* p = pool_.take(size)) return p;
  }
  void* p = std::aligned_alloc(64, size);
  if (!p) {  // drop the cache and try once more
    empty_cache();
    p = std::aligned_alloc(64, size);
  }
  DR_CHECK(p, "out of host memory allocating " << (size >> 20) << " MiB");
  std::lock_guard<std::mutex> lock(mu_);
  pool_.add_new(p, size);
  return p;
}

void HostBlockCache::release(void* ptr, size_t nbytes) {
  std::unique_lock<std::mutex> lock(mu_);
  const size_t size = pool_.end_use(ptr, round_size(nbytes));
  if (pool_.stats.bytes_cached + size <= max_cached_) {
    pool_.cache(ptr, size);
    return;
  }
  lock.unlock();
  std::free(ptr);  // over the cap: back to the system
}

void HostBlockCache::empty_cache() {
  std::lock_guard<std::mutex> lock(mu_);
  pool_.drain([](void* q) { std::free(q); });
}

AllocatorStats HostBlockCache::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pool_.stats;
}

}  // namespace dr
