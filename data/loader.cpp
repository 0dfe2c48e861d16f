#include "data/loader.h"

#include <algorithm>
#include <cstring>
#include <exception>

#include "data/coco.h"

namespace dr::data {

struct Loader::Slot {
  bool ready = false;
  Sample sample;
  std::exception_ptr error;
};

SampleSource coco_source(const CocoDataset& ds) {
  return {ds.size(), [&ds](size_t i) { return ds.load(i); }};
}

uint64_t sample_seed(uint64_t seed, int epoch, size_t index) {
  Rng r(seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(epoch) * 0xC2B2AE3D27D4EB4Full +
        static_cast<uint64_t>(index) * 0x165667B19E3779F9ull);
  return r.next_u64();
}

std::vector<size_t> epoch_order(size_t n, uint64_t seed, int epoch, bool shuffle) {
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  if (!shuffle) return order;
  Rng r(seed ^ (0xA24BAED4963EE407ull * (static_cast<uint64_t>(epoch) + 1)));
  for (size_t i = n; i > 1; --i) std::swap(order[i - 1], order[r.randint(static_cast<int64_t>(i))]);
  return order;
}

Loader::Loader(SampleSource source, Pipeline pipeline, LoaderConfig cfg)
    : source_(std::move(source)), pipeline_(std::move(pipeline)), cfg_(cfg) {
  DR_CHECK(cfg_.batch_size >= 1, "loader: batch_size " << cfg_.batch_size << " must be >= 1");
  DR_CHECK(cfg_.workers >= 0, "loader: workers " << cfg_.workers << " must be >= 0");
  DR_CHECK(source_.load, "loader: sample source has no load function");
  cfg_.prefetch_batches = std::max(1, cfg_.prefetch_batches);
}

Loader::~Loader() { stop_workers(); }

size_t Loader::num_batches() const {
  const size_t n = source_.size, b = static_cast<size_t>(cfg_.batch_size);
  return cfg_.drop_last ? n / b : (n + b - 1) / b;
}

void Loader::stop_workers() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
  stop_ = false;
}

void Loader::start_epoch(int epoch, size_t first_batch) {
  stop_workers();
  epoch_ = epoch;
  started_ = true;
  augment_on_ = cfg_.schedule.enabled(epoch);
  order_ = epoch_order(source_.size, cfg_.seed, epoch, cfg_.shuffle);
  total_ = std::min(order_.size(), num_batches() * static_cast<size_t>(cfg_.batch_size));
  slots_.clear();
  for (size_t i = 0; i < total_; ++i) slots_.push_back(std::make_unique<Slot>());
  next_batch_ = std::min(first_batch, num_batches());
  next_claim_ = std::min(total_, next_batch_ * static_cast<size_t>(cfg_.batch_size));
  for (int w = 0; w < cfg_.workers; ++w) threads_.emplace_back([this] { worker_loop(); });
}

Sample Loader::produce(size_t pos) const {
  const size_t idx = order_[pos];
  Sample s = source_.load(idx);
  if (augment_on_) pipeline_.apply(s, sample_seed(cfg_.seed, epoch_, idx));
  return s;
}

void Loader::worker_loop() {
  const size_t bs = static_cast<size_t>(cfg_.batch_size);
  for (;;) {
    size_t pos;
    {
      std::unique_lock<std::mutex> lk(mu_);
      // Stay at most prefetch_batches ahead of the consumer.
      work_cv_.wait(lk, [&] {
        return stop_ || next_claim_ >= total_ ||
               next_claim_ < (next_batch_ + cfg_.prefetch_batches) * bs;
      });
      if (stop_ || next_claim_ >= total_) return;
      pos = next_claim_++;
    }
    Slot& slot = *slots_[pos];
    Sample s;
    std::exception_ptr err;
    try {
      s = produce(pos);
    } catch (...) {
      err = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lk(mu_);
      slot.sample = std::move(s);
      slot.error = err;
      slot.ready = true;
    }
    done_cv_.notify_all();
  }
}

bool Loader::next(Batch& out) {
  DR_CHECK(started_, "loader: call start_epoch(epoch) before next()");
  const size_t bs = static_cast<size_t>(cfg_.batch_size);
  const size_t begin = next_batch_ * bs;
  if (begin >= total_) return false;
  const size_t end = std::min(total_, begin + bs);
  if (cfg_.workers == 0) {
    for (size_t p = begin; p < end; ++p) {
      slots_[p]->sample = produce(p);
      slots_[p]->ready = true;
    }
  } else {
    std::unique_lock<std::mutex> lk(mu_);
    done_cv_.wait(lk, [&] {
      for (size_t p = begin; p < end; ++p)
        if (!slots_[p]->ready) return false;
      return true;
    });
  }
  for (size_t p = begin; p < end; ++p)
    if (slots_[p]->error) std::rethrow_exception(slots_[p]->error);

  out = Batch();
  out.epoch = epoch_;
  out.index = static_cast<int>(next_batch_);
  int64_t total_floats = 0;
  for (size_t p = begin; p < end; ++p) {
    const Image& im = slots_[p]->sample.image;
    total_floats += 3 * static_cast<int64_t>(im.h) * im.w;
  }
  out.storage = Tensor::host({total_floats}, DType::F32);
  int64_t off = 0;
  for (size_t p = begin; p < end; ++p) {
    Sample& s = slots_[p]->sample;
    const int64_t n = 3 * static_cast<int64_t>(s.image.h) * s.image.w;
    Tensor view = out.storage.narrow0(off, n).reshape({3, s.image.h, s.image.w});
    to_chw_float(s.image, view.data<float>());
    off += n;
    out.images.push_back(view);
    out.boxes.push_back(std::move(s.boxes));
    out.image_ids.push_back(s.image_id);
    out.indices.push_back(order_[p]);
    out.orig_hw.emplace_back(s.orig_h, s.orig_w);
    slots_[p]->sample = Sample();  // free the decoded image now
  }
  {
    std::lock_guard<std::mutex> lk(mu_);
    ++next_batch_;
  }
  work_cv_.notify_all();
  return true;
}

}  // namespace dr::data
