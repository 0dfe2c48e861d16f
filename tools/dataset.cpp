// dataset: look at a COCO detection split (the target layout, real or synthetic).
//   dataset stats   --json DIR.json [--images DIR] [--k 5] [--min-size 800 --max-size 1333]
//   dataset preview --json DIR.json [--images DIR] --out grid.png [--count 24]
//                   [--augment PRESET] [--seed S] [--cell-h 96]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "data/anchors.h"
#include "data/coco.h"
#include "data/draw.h"
#include "data/image_folder.h"
#include "data/loader.h"
#include "data/progress.h"

using namespace dr;
using namespace dr::data;

static void usage() {
  std::printf(
      "usage: dataset stats   --json FILE [--images DIR] [--k K] [--min-size S --max-size M]\n"
      "       dataset preview (--json FILE [--images DIR] | --images DIR) --out PNG [--count N] [--augment PRESET]\n"
      "                       [--seed S] [--cell-h PX] [--width PX]\n"
      "stats: image/box counts, histograms of image width and height, box height, boxes per\n"
      "  image and categories, and an anchor suggestion: k-means (1 - IoU) over box sizes\n"
      "  after the model's resize (torchvision min_size/max_size, default 800/1333; 0 = raw\n"
      "  pixels), printed as torchvision AnchorGenerator settings and as train flags.\n"
      "preview: a PNG grid of N samples (spread evenly over the split) with boxes and digit\n"
      "  labels drawn; with --augment PRESET (%s) each sample is shown\n"
      "  as original then augmented (seeded by --seed and the sample index).\n"
      "  --images DIR defaults to FILE without .json (train.json -> train/); preview with\n"
      "  --images DIR and no --json shows a folder of unannotated images (a test folder).\n",
      "none, seed000, seed001, all");
}

namespace {

struct Args {
  std::string cmd, json, images, out, augment = "none";
  int k = 5, count = 24, cell_h = 96, width = 1400;
  float min_size = 800, max_size = 1333;
  uint64_t seed = 0;
};

void histogram(const char* title, const std::vector<float>& v, const std::vector<float>& edges) {
  std::printf("\n%s (n=%zu", title, v.size());
  if (!v.empty()) {
    std::vector<float> s = v;
    std::sort(s.begin(), s.end());
    std::printf(", min %g, median %g, max %g", s.front(), s[s.size() / 2], s.back());
  }
  std::printf(")\n");
  std::vector<size_t> counts(edges.size(), 0);
  for (float x : v) {
    size_t b = 0;
    while (b + 1 < edges.size() && x >= edges[b + 1]) ++b;
    counts[b]++;
  }
  const size_t peak = std::max<size_t>(1, *std::max_element(counts.begin(), counts.end()));
  for (size_t b = 0; b < edges.size(); ++b) {
    char range[48];
    if (b + 1 < edges.size())
      std::snprintf(range, sizeof range, "[%g, %g)", edges[b], edges[b + 1]);
    else
      std::snprintf(range, sizeof range, ">= %g", edges[b]);
    std::printf("  %-14s %7zu %s\n", range, counts[b], std::string(40 * counts[b] / peak, '#').c_str());
  }
}

int stats(const Args& a) {
  CocoDataset ds = read_coco(a.json, a.images);
  std::printf("%s: %zu images, %zu boxes, %d clipped, %d empty dropped, %zu categories\n",
              a.json.c_str(), ds.size(), ds.num_boxes(), ds.clipped, ds.dropped_empty,
              ds.categories.size());
  std::vector<float> iw, ih, bh, bw, per, cats;
  std::vector<std::pair<float, float>> wh;
  size_t without = 0;
  for (const CocoImage& im : ds.images) {
    iw.push_back(static_cast<float>(im.width));
    ih.push_back(static_cast<float>(im.height));
    per.push_back(static_cast<float>(im.boxes.size()));
    without += im.boxes.empty();
    const float s = a.min_size > 0 ? transform_scale(im.height, im.width, a.min_size, a.max_size) : 1.f;
    for (const Box& b : im.boxes) {
      bh.push_back(b.h());
      bw.push_back(b.w());
      cats.push_back(static_cast<float>(b.label));
      if (b.w() > 0 && b.h() > 0) wh.emplace_back(b.w() * s, b.h() * s);
    }
  }
  std::printf("images without boxes: %zu\n", without);
  histogram("image width (px)", iw, {0, 32, 64, 100, 150, 200, 300, 400, 500, 742});
  histogram("image height (px)", ih, {0, 16, 32, 48, 64, 100, 150, 200, 300, 424});
  histogram("box height (px)", bh, {0, 8, 12, 15, 20, 30, 45, 70, 100, 200});
  histogram("box width (px)", bw, {0, 4, 8, 12, 16, 24, 32, 48, 64, 128});
  histogram("boxes per image", per, {0, 1, 2, 3, 4, 5, 6});
  histogram("category_id", cats, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  if (wh.size() >= static_cast<size_t>(a.k)) {
    AnchorSuggestion s = suggest_anchors(wh, a.k, a.seed);
    std::printf("\nanchor suggestion: k-means over %zu box sizes, 1-IoU distance, k=%d, ", wh.size(), a.k);
    if (a.min_size > 0)
      std::printf("boxes scaled as the model resizes (min_size %g, max_size %g)\n", a.min_size, a.max_size);
    else
      std::printf("raw pixels\n");
    std::printf("  clusters (w x h):");
    for (const auto& c : s.clusters) std::printf(" %.0fx%.0f", c.first, c.second);
    std::printf("\n  mean best IoU of a box with a cluster: %.3f\n", s.mean_iou);
    std::printf("  torchvision AnchorGenerator: %s\n", s.torchvision().c_str());
    std::printf("  flags: %s\n", s.flags().c_str());
  }
  return 0;
}

int preview(const Args& a) {
  DR_CHECK(!a.out.empty(), "dataset preview: --out PNG is required");
  // Without --json, --images is a folder of unannotated images (e.g. a test folder).
  CocoDataset ds = a.json.empty() ? read_image_folder(a.images) : read_coco(a.json, a.images);
  DR_CHECK(ds.size() > 0, "dataset preview: " << (a.json.empty() ? a.images : a.json) << " has no images");
  const Pipeline aug = make_preset(a.augment);
  const size_t n = std::min<size_t>(a.count, ds.size());
  std::vector<Image> tiles;
  Progress bar("preview", static_cast<int64_t>(n), "img");
  for (size_t j = 0; j < n; ++j) {
    const size_t i = j * ds.size() / n;
    Sample s = ds.load(i);
    tiles.push_back(preview_tile(s.image, s.boxes, a.cell_h, std::to_string(s.image_id)));
    if (!aug.empty()) {
      aug.apply(s, sample_seed(a.seed, 0, i));
      tiles.push_back(preview_tile(s.image, s.boxes, a.cell_h, std::to_string(s.image_id)));
    }
    bar.tick();
  }
  bar.finish();
  write_png(a.out, pack_grid(tiles, a.width));
  std::printf("preview: wrote %s (%zu samples%s)\n", a.out.c_str(), n,
              aug.empty() ? "" : (", each original then " + a.augment).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  try {
    if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
      usage();
      return argc < 2 ? 1 : 0;
    }
    a.cmd = argv[1];
    for (int i = 2; i < argc; ++i) {
      std::string o = argv[i];
      auto val = [&]() -> std::string {
        DR_CHECK(i + 1 < argc, "dataset: " << o << " needs a value (see --help)");
        return argv[++i];
      };
      auto num = [&]() -> double {
        const std::string v = val();
        char* end = nullptr;
        const double d = std::strtod(v.c_str(), &end);
        DR_CHECK(!v.empty() && *end == '\0', "dataset: " << o << " needs a number, got \"" << v << "\"");
        return d;
      };
      if (o == "--help" || o == "-h") { usage(); return 0; }
      else if (o == "--json") a.json = val();
      else if (o == "--images") a.images = val();
      else if (o == "--out") a.out = val();
      else if (o == "--augment") a.augment = val();
      else if (o == "--k") a.k = static_cast<int>(num());
      else if (o == "--count") a.count = static_cast<int>(num());
      else if (o == "--cell-h") a.cell_h = static_cast<int>(num());
      else if (o == "--width") a.width = static_cast<int>(num());
      else if (o == "--min-size") a.min_size = static_cast<float>(num());
      else if (o == "--max-size") a.max_size = static_cast<float>(num());
      else if (o == "--seed") {
        const std::string v = val();
        char* end = nullptr;
        a.seed = std::strtoull(v.c_str(), &end, 10);
        DR_CHECK(!v.empty() && *end == '\0', "dataset: --seed needs a whole number, got \"" << v << "\"");
      }
      else DR_FAIL("dataset: unknown argument " << o << " (see --help)");
    }
    DR_CHECK(!a.json.empty() || (a.cmd == "preview" && !a.images.empty()),
             "dataset: --json FILE is required (preview also takes --images DIR alone; see --help)");
    if (a.cmd == "stats") return stats(a);
    if (a.cmd == "preview") return preview(a);
    DR_FAIL("dataset: unknown command " << a.cmd << " (stats or preview; see --help)");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
