// Synthetic generator: tight boxes checked against the rendered pixels, SVHN's size
// range, determinism (also across writer threads), the exact COCO layout; anchors.
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "data/anchors.h"
#include "data/coco.h"
#include "data/synth.h"
#include "tests/data_helpers.h"
#include "tests/testing.h"

using namespace dr;
using namespace dr::data;

TEST_CASE("synth: every box touches its digit's ink on all four sides and holds all of it") {
  // Plain background, no clutter or degradation, glyphs apart: then a pixel's distance
  // from the background colour is coverage * contrast, rounded. Coverage >= 0.5 is the
  // generator's definition of ink, so:
  //  - a pixel at least C/2 + 0.5 from the background certainly has coverage >= 0.5:
  //    it must lie inside a box (no ink outside);
  //  - each box edge row/column must hold a pixel at least C/2 - 0.5 away (touching).
  SynthOptions opt;
  opt.textured = opt.clutter = opt.neighbours = opt.degrade = false;
  opt.min_spacing = 0.15f;
  opt.min_contrast = 80;
  SynthGenerator gen(opt);
  int digits = 0;
  for (uint64_t seed = 0; seed < 60; ++seed) {
    SynthImage s = gen.render(seed);
    const Image& img = s.image;
    const uint8_t* bg = img.at(0, 0);
    int ch = 0;
    for (int k = 1; k < 3; ++k)
      if (std::fabs(s.digit_colour[k] - bg[k]) > std::fabs(s.digit_colour[ch] - bg[ch])) ch = k;
    const float C = std::fabs(s.digit_colour[ch] - bg[ch]);
    REQUIRE(C >= 40);
    auto diff = [&](int y, int x) { return std::fabs(static_cast<float>(img.at(y, x)[ch]) - bg[ch]); };
    INFO("seed " << seed << ", " << img.w << "x" << img.h << ", contrast " << C);
    for (int y = 0; y < img.h; ++y)
      for (int x = 0; x < img.w; ++x) {
        if (diff(y, x) < C / 2 + 0.5f) continue;
        bool inside = false;
        for (const Box& b : s.boxes) inside |= x >= b.x1 && x < b.x2 && y >= b.y1 && y < b.y2;
        INFO("ink pixel (" << x << ", " << y << ") outside every box");
        CHECK(inside);
      }
    for (const Box& b : s.boxes) {
      ++digits;
      const int x1 = static_cast<int>(b.x1), y1 = static_cast<int>(b.y1);
      const int x2 = static_cast<int>(b.x2) - 1, y2 = static_cast<int>(b.y2) - 1;
      REQUIRE(x1 >= 0);
      REQUIRE(y1 >= 0);
      REQUIRE(x2 < img.w);
      REQUIRE(y2 < img.h);
      bool top = false, bottom = false, left = false, right = false;
      const float t = C / 2 - 0.5f;
      for (int x = x1; x <= x2; ++x) top |= diff(y1, x) >= t, bottom |= diff(y2, x) >= t;
      for (int y = y1; y <= y2; ++y) left |= diff(y, x1) >= t, right |= diff(y, x2) >= t;
      INFO("box of digit " << b.label - 1 << " (" << b.x1 << "," << b.y1 << "," << b.x2 << "," << b.y2 << ")");
      CHECK(top);
      CHECK(bottom);
      CHECK(left);
      CHECK(right);
    }
  }
  CHECK(digits > 100);
}

TEST_CASE("synth: SVHN-like sizes and labels, deterministic per seed") {
  SynthGenerator gen;
  CHECK(gen.num_fonts() >= 3);
  int hist[6] = {0};
  for (uint64_t seed = 0; seed < 120; ++seed) {
    SynthImage s = gen.render(synth_image_seed(7, static_cast<int64_t>(seed)));
    CHECK(s.image.w >= 27);
    CHECK(s.image.w <= 741);
    CHECK(s.image.h >= 12);
    CHECK(s.image.h <= 423);
    REQUIRE(s.boxes.size() >= 1);
    REQUIRE(s.boxes.size() <= 5);
    hist[s.boxes.size()]++;
    for (const Box& b : s.boxes) {
      CHECK(b.label >= 1);
      CHECK(b.label <= 10);
      CHECK(b.x1 >= 0);
      CHECK(b.y1 >= 0);
      CHECK(b.x2 <= s.image.w);
      CHECK(b.y2 <= s.image.h);
      CHECK(b.w() >= 1);
    }
  }
  CHECK(hist[1] > 0);
  CHECK(hist[2] > 0);
  CHECK(hist[3] > 0);
  SynthImage a = gen.render(42), b = gen.render(42), c = gen.render(43);
  CHECK(a.image.px == b.image.px);
  CHECK(a.boxes.size() == b.boxes.size());
  CHECK(a.image.px != c.image.px);
  CHECK_THROWS_WITH_AS(find_digit_fonts({"/nonexistent_fonts"}), doctest::Contains("fonts-dejavu-core"),
                       Error);
}

TEST_CASE("synth: split on disk in the exact target layout, same bytes for any thread count") {
  SynthGenerator gen;
  const std::string root = test::temp_dir("synth");
  write_synth_split(gen, root, "one", 12, 5, 1, 1, false);
  write_synth_split(gen, root, "three", 12, 5, 1, 3, false);
  for (int id = 1; id <= 12; ++id) {
    const std::string n = "/" + std::to_string(id) + ".png";
    CHECK(read_file_bytes(root + "/one" + n) == read_file_bytes(root + "/three" + n));
  }
  CHECK(read_file_bytes(root + "/one.json") == read_file_bytes(root + "/three.json"));

  std::ifstream f(root + "/one.json");
  const nlohmann::json j = nlohmann::json::parse(f);
  REQUIRE(j["images"].size() == 12);
  for (const auto& im : j["images"]) {
    CHECK(im["file_name"].get<std::string>() == std::to_string(im["id"].get<int>()) + ".png");
    CHECK(im.contains("height"));
    CHECK(im.contains("width"));
  }
  REQUIRE(j["annotations"].size() >= 12);
  for (const auto& a : j["annotations"]) {
    CHECK(a["bbox"].size() == 4);
    CHECK(a["area"].get<double>() == doctest::Approx(a["bbox"][2].get<double>() * a["bbox"][3].get<double>()));
    CHECK(a["iscrowd"] == 0);
    CHECK(a["category_id"].get<int>() >= 1);
    CHECK(a["category_id"].get<int>() <= 10);
  }
  REQUIRE(j["categories"].size() == 10);
  CHECK(j["categories"][0]["id"] == 1);
  CHECK(j["categories"][0]["name"] == "0");
  CHECK(j["categories"][9]["name"] == "9");
  // And the reader takes it back unchanged.
  CocoDataset ds = read_coco(root + "/one.json");
  CHECK(ds.size() == 12);
  CHECK(ds.num_boxes() == j["annotations"].size());
  CHECK(ds.dropped_empty == 0);
  CHECK(ds.clipped == 0);
  Sample s = ds.load(3);
  CHECK(s.image.w == ds.images[3].width);
}

TEST_CASE("anchors: k-means with 1 - IoU finds planted box shapes") {
  Rng rng(3);
  std::vector<std::pair<float, float>> wh;
  const float shapes[3][2] = {{10, 20}, {30, 60}, {80, 40}};
  for (int i = 0; i < 300; ++i) {
    const auto& s = shapes[i % 3];
    wh.emplace_back(s[0] * static_cast<float>(rng.uniform(0.95, 1.05)), s[1] * static_cast<float>(rng.uniform(0.95, 1.05)));
  }
  AnchorSuggestion a = suggest_anchors(wh, 3, 0);
  REQUIRE(a.clusters.size() == 3);
  for (int k = 0; k < 3; ++k) {
    CHECK(a.clusters[k].first == doctest::Approx(shapes[k][0]).epsilon(0.05));
    CHECK(a.clusters[k].second == doctest::Approx(shapes[k][1]).epsilon(0.05));
  }
  CHECK(a.mean_iou > 0.9f);
  CHECK(a.sizes[0] == 14);  // sqrt(10 * 20)
  CHECK(a.torchvision().find("sizes=((14,), (42,), (57,))") == 0);
  CHECK(transform_scale(50, 100, 800, 1333) == doctest::Approx(13.33f).epsilon(0.01));
}
