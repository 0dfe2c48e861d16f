// CudaAllocator: a caching allocator for one CUDA device, so steady-state training and
// inference do no cudaMalloc/cudaFree per op. Freed blocks return to size-keyed free
// lists and are reused by later requests on the same stream (stream order makes the
// reuse safe: the next user's kernels are queued after the last user's).
#pragma once
#include <cstddef>
#include <map>
#include <mutex>
#include <unordered_map>
#include <string>

namespace dr {

struct AllocatorStats {
  size_t bytes_in_use = 0;   // handed out to live tensors
  size_t bytes_cached = 0;   // held in free lists
  size_t peak_in_use = 0;
  size_t device_mallocs = 0; // real cudaMalloc calls so far
};

// What a Storage hands its block back to when the last tensor on it goes: a caching
// allocator (CUDA blocks, large host blocks) rather than the system.
class BlockAllocator {
 public:
  virtual ~BlockAllocator() = default;
  virtual void release(void* ptr, size_t nbytes) = 0;
};

class CudaAllocator : public BlockAllocator {
 public:
  explicit CudaAllocator(int device);
  ~CudaAllocator() override;
  CudaAllocator(const CudaAllocator&) = delete;
  CudaAllocator& operator=(const CudaAllocator&) = delete;

  void* allocate(size_t nbytes);  // throws dr::Error naming sizes on out-of-memory
  void release(void* ptr, size_t nbytes) override;
  void empty_cache();              // cudaFree every cached block
  AllocatorStats stats() const;
  int device() const { return device_; }

  // Requests are rounded so blocks are reusable across slightly different sizes.
  static size_t round_size(size_t nbytes);

 private:
  int device_;
  mutable std::mutex mu_;
  std::multimap<size_t, void*> free_;       // block size -> free block
  std::unordered_map<void*, size_t> live_;  // handed-out block -> its size (>= the request)
  AllocatorStats stats_;
};

}  // namespace dr
