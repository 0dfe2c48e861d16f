// Loader: identical batches whatever the worker count, per-epoch shuffles that cover the
// split once, one contiguous host buffer per batch, worker errors surfacing, the
// augmentation schedule; and the same on a COCO split read from disk.
#include <cstring>

#include "data/coco.h"
#include "data/loader.h"
#include "data/synth.h"
#include "tests/data_helpers.h"
#include "tests/testing.h"

using namespace dr;
using namespace dr::data;

namespace {

// Variable-size images whose pixels encode their index.
SampleSource memory_source(size_t n, int bad_index = -1) {
  return {n, [bad_index](size_t i) {
            DR_CHECK(static_cast<int>(i) != bad_index, "memory source: sample " << i << " is corrupt");
            Sample s;
            s.image_id = static_cast<int64_t>(i) + 100;
            s.image = Image(20 + static_cast<int>(i % 7), 30 + 3 * static_cast<int>(i % 5));
            for (size_t k = 0; k < s.image.px.size(); ++k) s.image.px[k] = static_cast<uint8_t>(i * 31 + k * 7);
            s.boxes = {{5, 4, 20, 16, static_cast<int>(i % 10) + 1}};
            s.orig_h = s.image.h;
            s.orig_w = s.image.w;
            return s;
          }};
}

struct Flat {  // everything a batch carries, for exact comparison
  std::vector<float> pixels;
  std::vector<float> boxes;
  std::vector<int64_t> ids;
  std::vector<Shape> shapes;
  bool operator==(const Flat& o) const {
    return pixels == o.pixels && boxes == o.boxes && ids == o.ids && shapes == o.shapes;
  }
};

std::vector<Flat> run_epochs(const SampleSource& src, const std::string& preset, LoaderConfig cfg, int epochs) {
  Loader loader(src, make_preset(preset), cfg);
  std::vector<Flat> out;
  for (int e = 0; e < epochs; ++e) {
    loader.start_epoch(e);
    Batch b;
    while (loader.next(b)) {
      Flat f;
      const float* p = b.storage.data<float>();
      f.pixels.assign(p, p + b.storage.numel());
      for (size_t k = 0; k < b.size(); ++k) {
        f.ids.push_back(b.image_ids[k]);
        f.shapes.push_back(b.images[k].shape());
        for (const Box& bx : b.boxes[k]) f.boxes.insert(f.boxes.end(), {bx.x1, bx.y1, bx.x2, bx.y2, float(bx.label)});
      }
      out.push_back(std::move(f));
    }
  }
  return out;
}

}  // namespace

TEST_CASE("loader: same batches for any number of workers, shuffled per epoch") {
  const SampleSource src = memory_source(23);
  LoaderConfig cfg;
  cfg.batch_size = 4;
  cfg.seed = 9;
  cfg.workers = 0;
  const std::vector<Flat> ref = run_epochs(src, "all", cfg, 2);
  REQUIRE(ref.size() == 12);  // 6 batches (the last one of 3) x 2 epochs
  for (int workers : {1, 2, 3, 5}) {
    for (int prefetch : {1, 3}) {
      cfg.workers = workers;
      cfg.prefetch_batches = prefetch;
      INFO("workers " << workers << ", prefetch " << prefetch);
      CHECK(run_epochs(src, "all", cfg, 2) == ref);
    }
  }
  // Each epoch visits every sample once, in a different order.
  std::vector<int64_t> e0, e1;
  for (size_t b = 0; b < 6; ++b) e0.insert(e0.end(), ref[b].ids.begin(), ref[b].ids.end());
  for (size_t b = 6; b < 12; ++b) e1.insert(e1.end(), ref[b].ids.begin(), ref[b].ids.end());
  CHECK(e0 != e1);
  std::sort(e0.begin(), e0.end());
  std::sort(e1.begin(), e1.end());
  for (int64_t i = 0; i < 23; ++i) {
    CHECK(e0[i] == 100 + i);
    CHECK(e1[i] == 100 + i);
  }
  // A different seed gives different batches.
  cfg.seed = 10;
  CHECK_FALSE(run_epochs(src, "all", cfg, 1)[0] == ref[0]);
}

TEST_CASE("loader: batch memory, drop_last, errors, schedule") {
  LoaderConfig cfg;
  cfg.batch_size = 5;
  cfg.workers = 2;
  cfg.drop_last = true;
  cfg.schedule = {2, 1};  // augmentation on in epoch 0, off in epoch 1
  Loader loader(memory_source(12), make_preset("seed000"), cfg);
  CHECK(loader.num_batches() == 2);
  loader.start_epoch(1);
  CHECK_FALSE(loader.augmenting());
  Batch b;
  REQUIRE(loader.next(b));
  REQUIRE(b.size() == 5);
  int64_t total = 0;
  for (size_t k = 0; k < b.size(); ++k) {
    const Tensor& t = b.images[k];
    CHECK(t.dim() == 3);
    CHECK(t.size(0) == 3);
    CHECK(t.same_storage(b.storage));  // views into one block: one copy to the GPU
    CHECK(static_cast<int64_t>(t.byte_offset()) == total * 4);
    total += t.numel();
    // Augmentation is off: pixels are the source's, scaled to [0, 1], CHW.
    const Sample s = memory_source(12).load(b.indices[k]);
    CHECK(t.data<float>()[1] == doctest::Approx(s.image.px[3] / 255.0f));
    CHECK(b.boxes[k][0].x1 == 5);
    CHECK(b.orig_hw[k].first == s.image.h);
  }
  CHECK(total == b.storage.numel());
  CHECK(reinterpret_cast<uintptr_t>(b.storage.raw()) % 64 == 0);
  REQUIRE(loader.next(b));
  CHECK_FALSE(loader.next(b));  // 12 samples, batches of 5, last partial batch dropped
  loader.start_epoch(0);
  CHECK(loader.augmenting());

  // A sample that fails to load surfaces as the consumer's error, with its message.
  for (int workers : {0, 2}) {
    cfg.workers = workers;
    cfg.drop_last = false;
    Loader bad(memory_source(12, 7), Pipeline(), cfg);
    bad.start_epoch(0);
    CHECK_THROWS_WITH_AS(
        [&] {
          while (bad.next(b)) {
          }
        }(),
        doctest::Contains("sample 7 is corrupt"), Error);
  }
}

TEST_CASE("loader: a COCO split from disk, seed000, 1 vs 2 workers") {
  const std::string root = test::temp_dir("loader");
  write_synth_split(SynthGenerator(), root, "train", 10, 3, 1, 1, false);
  CocoDataset ds = read_coco(root + "/train.json");
  LoaderConfig cfg;
  cfg.batch_size = 3;
  cfg.workers = 1;
  const std::vector<Flat> a = run_epochs(coco_source(ds), "seed000", cfg, 2);
  cfg.workers = 2;
  CHECK(run_epochs(coco_source(ds), "seed000", cfg, 2) == a);
  CHECK(a.size() == 8);
}
