// HostBlockCache: keeps large freed host blocks for reuse, the host-side counterpart of
// CudaAllocator. glibc serves blocks above its mmap threshold (at most 32 MiB on 64-bit)
// with mmap and returns them with munmap, so a training step at torchvision's 800/1333
// sizes (R50 stage-1 activations of 90 MB an image pair) page-faulted and zeroed hundreds
// of MB anew every iteration: perf put the kernel's clear_page/page-fault work at 14% of
// the step. Blocks below the threshold stay in glibc's heap (nn/tensor.cpp tunes it).
// Owned by a Context (shared with the Storages it hands out, so tensors may outlive it);
// thread-safe: tensors are freed from loader and OpenMP threads too.
#pragma once
#include <cstddef>
#include <mutex>

#include "nn/allocator.h"

namespace dr {

class HostBlockCache : public BlockAllocator {
 public:
  // Blocks of at least kMinBytes go through the cache (glibc's largest mmap threshold);
  // at most `max_cached` bytes of free blocks are kept, the rest go back to the system.
  static constexpr size_t kMinBytes = size_t(32) << 20;
  explicit HostBlockCache(size_t max_cached = size_t(4) << 30) : max_cached_(max_cached) {}
  ~HostBlockCache() override;
  HostBlockCache(const HostBlockCache&) = delete;
  HostBlockCache& operator=(const HostBlockCache&) = delete;

  // A 64-byte aligned block of at least nbytes (>= kMinBytes); throws dr::Error naming the
  // size when the system has none.
  void* allocate(size_t nbytes);
  void release(void* ptr, size_t nbytes) override;
  void empty_cache();
  AllocatorStats stats() const;  // device_mallocs counts the system allocations

  // Sizes are rounded up to 2 MiB so blocks serve slightly different shapes.
  static size_t round_size(size_t nbytes);

 private:
  size_t max_cached_;
  mutable std::mutex mu_;
  BlockPool pool_;
};

}  // namespace dr
