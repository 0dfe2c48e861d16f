// Loader throughput in images/s: decode + seed000 augmentation (ColorJitter, RandomAffine,
// SVHN AutoAugment colour policy) + conversion into the batch's float buffer, for 1 and
// 2 worker threads, with "none" (decode only) as the reference.
// Data: --json FILE, else ../shared/data/svhn-real/train.json when present, else a
// synthetic split written to /tmp first.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "data/coco.h"
#include "data/loader.h"
#include "data/synth.h"

using namespace dr;
using namespace dr::data;

static bool exists(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0;
}

int main(int argc, char** argv) {
  bool quick = false;
  std::string json;
  int batch = 8;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--quick") quick = true;
    else if (a == "--json" && i + 1 < argc) json = argv[++i];
    else if (a == "--batch" && i + 1 < argc) batch = std::stoi(argv[++i]);
    else {
      std::printf("usage: bench_loader [--quick] [--json FILE] [--batch N]\n");
      return a == "--help" ? 0 : 1;
    }
  }
  try {
    if (json.empty() && exists("../shared/data/svhn-real/train.json")) json = "../shared/data/svhn-real/train.json";
    if (json.empty()) {
      const std::string root = "/tmp/dr_bench_loader_" + std::to_string(getpid());
      std::printf("no --json and no ../shared/data/svhn-real: writing a synthetic split to %s\n", root.c_str());
      write_synth_split(SynthGenerator(), root, "train", quick ? 200 : 800, 0, 1, 2, false);
      json = root + "/train.json";
    }
    CocoDataset ds = read_coco(json);
    const size_t limit = quick ? 200 : ds.size();
    ds.images.resize(std::min(limit, ds.size()));
    std::printf("loader benchmark: %s, %zu images, batch %d, %u hardware threads\n", json.c_str(),
                ds.size(), batch, std::thread::hardware_concurrency());
    for (const char* preset : {"none", "seed000"}) {
      for (int workers : {1, 2}) {
        LoaderConfig cfg;
        cfg.batch_size = batch;
        cfg.workers = workers;
        Loader loader(coco_source(ds), make_preset(preset), cfg);
        // A warm-up epoch (file cache), then timed epochs; the best one is reported
        // because other processes share this machine's cores.
        double best = 0, best_s = 0;
        size_t best_n = 0;
        const int timed = quick ? 1 : 3;
        for (int epoch = 0; epoch <= timed; ++epoch) {
          const auto t0 = std::chrono::steady_clock::now();
          loader.start_epoch(epoch);
          Batch b;
          size_t images = 0;
          while (loader.next(b)) images += b.size();
          const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          if (epoch > 0 && images / s > best) best = images / s, best_s = s, best_n = images;
        }
        std::printf("  %-8s workers %d: %8.1f images/s (best of %d epochs: %zu images in %.2f s)\n",
                    preset, workers, best, timed, best_n, best_s);
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
