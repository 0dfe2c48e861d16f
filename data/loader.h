// Loader: worker threads decode and augment samples ahead of the consumer and hand out
// batches of variable-size images.
//
// Determinism: sample i of epoch e is augmented with seed mix(seed, e, dataset index), and
// the epoch's order is a shuffle seeded by (seed, e), so a batch's content is identical
// whatever the number of workers or their timing. Prefetch is bounded (prefetch_batches).
//
// Batch memory: all images of a batch live in one contiguous 64-byte aligned host float
// buffer (`storage`), so a single copy moves the batch to the GPU; `images[k]` are
// (3, H_k, W_k) views into it, values in [0, 1] (normalization is the model's job).
#pragma once
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "data/augment.h"

namespace dr::data {

// Where samples come from: a COCO folder, or anything else that can decode sample i.
struct SampleSource {
  size_t size = 0;
  std::function<Sample(size_t)> load;  // must be safe to call from several threads
};
struct CocoDataset;
SampleSource coco_source(const CocoDataset& ds);  // ds must outlive the loader

struct LoaderConfig {
  int batch_size = 4;
  int workers = 2;           // 0: decode on the consumer's thread
  int prefetch_batches = 4;  // batches decoded ahead of the consumer
  bool shuffle = true;
  bool drop_last = false;
  uint64_t seed = 0;
  AugmentSchedule schedule;  // augmentation off for the last epochs
};

struct Batch {
  int epoch = 0, index = 0;
  Tensor storage;                            // (sum of 3*H_k*W_k,) f32, one block
  std::vector<Tensor> images;                // (3, H_k, W_k) views into storage
  std::vector<std::vector<Box>> boxes;       // per image, in its (augmented) pixels
  std::vector<int64_t> image_ids;
  std::vector<size_t> indices;               // dataset indices
  std::vector<std::pair<int, int>> orig_hw;  // size of the decoded file (map predictions back)
  size_t size() const { return images.size(); }
};

// The per-sample augmentation seed (exposed for tests and tools).
uint64_t sample_seed(uint64_t seed, int epoch, size_t index);
// The epoch's order of dataset indices.
std::vector<size_t> epoch_order(size_t n, uint64_t seed, int epoch, bool shuffle);

class Loader {
 public:
  Loader(SampleSource source, Pipeline pipeline, LoaderConfig cfg);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // Starts (or restarts) decoding epoch `epoch` at batch `first_batch` (a resumed run: the
  // order is a pure function of seed and epoch, so the batches before it are skipped
  // without decoding); earlier unconsumed work is dropped.
  void start_epoch(int epoch, size_t first_batch = 0);
  // The next batch of the current epoch (start_epoch first); false when the epoch is
  // done. Errors raised by
  // a worker (a corrupt file) are rethrown here.
  bool next(Batch& out);
  size_t num_batches() const;
  bool augmenting() const { return augment_on_; }

 private:
  struct Slot;
  void worker_loop();
  void stop_workers();
  Sample produce(size_t pos) const;

  SampleSource source_;
  Pipeline pipeline_;
  LoaderConfig cfg_;
  int epoch_ = 0;
  bool started_ = false;
  bool augment_on_ = true;
  std::vector<size_t> order_;
  size_t total_ = 0;       // samples in this epoch (after drop_last)
  size_t next_batch_ = 0;  // next batch the consumer gets

  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  std::vector<std::unique_ptr<Slot>> slots_;  // one per sample position of the epoch
  size_t next_claim_ = 0;                     // next sample position a worker takes
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace dr::data
