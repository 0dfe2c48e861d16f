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

// The free-list bookkeeping both caching allocators share (CudaAllocator, HostBlockCache):
// free blocks by size, the size of every handed-out block (a reused block can be up to
// twice its request, and goes back at its own size), and the stats. The owner locks.
class BlockPool {
 public:
  // Best fit among the free blocks of size..2*size (a huge cached block serving a small
  // request would pin memory that a big request needs next), now in use; or null.
  void* take(size_t size);
  void add_new(void* ptr, size_t size);  // fresh from the system, now in use
  // In use -> not in use; returns the block's size (`fallback` for an unknown pointer).
  size_t end_use(void* ptr, size_t fallback);
  void cache(void* ptr, size_t size);    // a block end_use returned, onto the free list
  // Hands every free block to free_fn and empties the free list.
  template <class F> void drain(F free_fn) {
    for (auto& kv : free_) free_fn(kv.second);
    free_.clear();
    stats.bytes_cached = 0;
  }
  AllocatorStats stats;  // device_mallocs counts add_new calls

 private:
  std::multimap<size_t, void*> free_;       // block size -> free block
  std::unordered_map<void*, size_t> live_;  // handed-out block -> its size
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
  BlockPool pool_;
};

}  // namespace dr
