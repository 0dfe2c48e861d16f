// Benchmark: COCO evaluation and the threshold sweep on a synthetic test-set-sized input,
// 13,000 images x 100 detections (the size of the digit test set with torchvision's
// detections_per_img = 100). --quick: 1,300 images.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>

#include "eval/coco_eval.h"
#include "eval/sweep.h"

using namespace dr::eval;

namespace {

void make_data(int n_images, int dets_per_image, CocoGroundTruth& gt, std::vector<Detection>& dets) {
  std::mt19937_64 rng(12345);
  std::uniform_real_distribution<double> u(0, 1);
  for (int c = 1; c <= 10; ++c) {
    gt.category_index[c] = gt.categories.size();
    gt.categories.push_back({c, std::to_string(c - 1)});
  }
  int64_t ann_id = 1;
  for (int i = 0; i < n_images; ++i) {
    gt.image_index[i] = gt.images.size();
    gt.images.push_back({i, std::to_string(i) + ".png", 200, 80});
    const int n_gt = 1 + static_cast<int>(u(rng) * 4);
    std::vector<Box> boxes;
    for (int g = 0; g < n_gt; ++g) {
      Box b{10 + 30.0 * g + u(rng) * 5, 10 + u(rng) * 10, 15 + u(rng) * 15, 30 + u(rng) * 30};
      const int64_t cat = 1 + static_cast<int64_t>(u(rng) * 10);
      gt.annotations.push_back({ann_id++, i, cat, b, b.w * b.h, false});
      boxes.push_back(b);
    }
    for (int d = 0; d < dets_per_image; ++d) {
      Box b;
      int64_t cat = 1 + static_cast<int64_t>(u(rng) * 10);
      double score = u(rng);
      if (d < 3 * n_gt) {  // near a ground truth, mostly of its class and scored higher
        const Box& g = boxes[d % n_gt];
        if (u(rng) < 0.8) cat = gt.annotations[gt.annotations.size() - n_gt + d % n_gt].category_id;
        score = 0.3 + 0.7 * u(rng);
        b = {g.x + (u(rng) - 0.5) * 6, g.y + (u(rng) - 0.5) * 6, g.w * (0.85 + 0.3 * u(rng)),
             g.h * (0.85 + 0.3 * u(rng))};
      } else {
        b = {u(rng) * 180, u(rng) * 50, 5 + u(rng) * 40, 10 + u(rng) * 50};
      }
      dets.push_back({i, cat, b, score * (d < 3 * n_gt ? 1.0 : 0.6)});
    }
  }
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const int n_images = quick ? 1300 : 13000, per_image = 100;
  CocoGroundTruth gt;
  gt.source = "synthetic";
  std::vector<Detection> dets;
  make_data(n_images, per_image, gt, dets);
  std::printf("bench_eval: %d images, %zu ground truths, %zu detections\n", n_images,
              gt.annotations.size(), dets.size());
  auto t0 = std::chrono::steady_clock::now();
  CocoEvaluator ev(gt, dets);
  const double t_match = seconds_since(t0);
  t0 = std::chrono::steady_clock::now();
  CocoStats s = ev.summarize();
  const double t_acc = seconds_since(t0);
  std::printf("  COCO evaluate (matching) %.3f s, accumulate + summarize %.3f s, total %.3f s\n",
              t_match, t_acc, t_match + t_acc);
  std::printf("  AP %.4f AP50 %.4f AR100 %.4f\n", s.stats[0], s.stats[1], s.stats[8]);
  t0 = std::chrono::steady_clock::now();
  auto rows = run_sweep(gt, dets, sweep_thresholds(0.45, 0.90, 0.01));
  const double t_sweep = seconds_since(t0);
  const SweepRow& best = rows[best_by_accuracy(rows)];
  std::printf("  sweep of %zu thresholds (mAP + accuracy each, evaluation included) %.3f s; "
              "best %.2f acc %.4f\n", rows.size(), t_sweep, best.threshold, best.accuracy);
  return 0;
}
