// Writes a synthetic split to disk in the target COCO layout, with worker threads
// (each image's content depends only on (seed, id), so the thread count changes nothing).
#include <sys/stat.h>

#include <atomic>
#include <exception>
#include <mutex>
#include <thread>

#include "data/coco.h"
#include "data/progress.h"
#include "data/synth.h"

namespace dr::data {

namespace {
void make_dir(const std::string& p) {
  if (mkdir(p.c_str(), 0755) != 0) {
    struct stat st;
    DR_CHECK(stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode), "synth: cannot create folder " << p);
  }
}
}  // namespace

void write_synth_split(const SynthGenerator& gen, const std::string& root, const std::string& split,
                       int64_t count, uint64_t seed, int64_t first_id, int threads, bool progress) {
  DR_CHECK(count >= 0 && first_id >= 0, "synth: count " << count << ", first id " << first_id);
  make_dir(root);
  const std::string dir = root + "/" + split;
  make_dir(dir);
  std::vector<CocoImage> records(static_cast<size_t>(count));
  std::atomic<int64_t> next{0};
  std::mutex mu;
  std::exception_ptr error;
  std::unique_ptr<Progress> bar;
  if (progress) bar = std::make_unique<Progress>("synth " + split, count, "img");
  auto work = [&] {
    for (;;) {
      const int64_t i = next.fetch_add(1);
      if (i >= count) return;
      try {
        const int64_t id = first_id + i;
        SynthImage s = gen.render(synth_image_seed(seed, id));
        CocoImage& rec = records[static_cast<size_t>(i)];
        rec.id = id;
        rec.file_name = std::to_string(id) + ".png";
        rec.width = s.image.w;
        rec.height = s.image.h;
        rec.boxes = std::move(s.boxes);
        write_png(dir + "/" + rec.file_name, s.image);
      } catch (...) {
        std::lock_guard<std::mutex> lk(mu);
        if (!error) error = std::current_exception();
        next = count;
        return;
      }
      if (bar) {
        std::lock_guard<std::mutex> lk(mu);
        bar->tick();
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < std::max(1, threads); ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
  if (bar) bar->finish();
  write_coco(root + "/" + split + ".json", records, digit_categories());
}

}  // namespace dr::data
