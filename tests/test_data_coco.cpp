// COCO reader validation and image decoding: every bad input is an error naming the file.
#include <stb_image_write.h>

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "data/coco.h"
#include "data/image_folder.h"
#include "tests/data_helpers.h"
#include "tests/testing.h"

using namespace dr;
using namespace dr::data;

namespace {

void write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
}

// A split folder with images 1.png (40x20) and 2.png (30x30); `json` is the JSON text.
std::string make_split(const std::string& json) {
  const std::string root = test::temp_dir("coco");
  const std::string dir = root + "/train";
  REQUIRE(mkdir(dir.c_str(), 0755) == 0);
  write_png(dir + "/1.png", Image(20, 40, 100));
  write_png(dir + "/2.png", Image(30, 30, 50));
  write_text(root + "/train.json", json);
  return root + "/train.json";
}

const char* kImages =
    R"("images": [{"id": 1, "file_name": "1.png", "height": 20, "width": 40},
                  {"id": 2, "file_name": "2.png", "height": 30, "width": 30}])";
const char* kCats = R"("categories": [{"id": 1, "name": "0"}, {"id": 2, "name": "1"}])";

std::string error_of(const std::string& json_path) {
  try {
    std::ostringstream warn;
    read_coco(json_path, "", {true, &warn});
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("coco: valid file, clipping, images without annotations, one empty-box warning") {
  const std::string path = make_split(std::string("{") + kImages + R"(, "annotations": [
      {"id": 1, "image_id": 1, "bbox": [-1, -1, 10, 12], "category_id": 1},
      {"id": 2, "image_id": 1, "bbox": [35, 5, 10, 5], "category_id": 2},
      {"id": 3, "image_id": 1, "bbox": [5, 5, 0, 5], "category_id": 2},
      {"id": 4, "image_id": 1, "bbox": [50, 5, 4, 4], "category_id": 2}], )" + kCats + "}");
  std::ostringstream warn;
  CocoDataset ds = read_coco(path, "", {true, &warn});
  REQUIRE(ds.size() == 2);
  CHECK(ds.images[1].boxes.empty());  // image 2 has no annotation: valid
  REQUIRE(ds.images[0].boxes.size() == 2);
  const Box& a = ds.images[0].boxes[0];
  CHECK(a.x1 == 0);  // clipped from -1
  CHECK(a.y1 == 0);
  CHECK(a.x2 == 9);
  CHECK(a.y2 == 11);
  CHECK(a.label == 1);
  CHECK(ds.images[0].boxes[1].x2 == 40);  // clipped to the width
  CHECK(ds.clipped == 2);
  CHECK(ds.dropped_empty == 2);  // zero width, and entirely outside
  // One summary line, not one per box.
  const std::string w = warn.str();
  CHECK(w.find("dropped 2 empty box") != std::string::npos);
  CHECK(std::count(w.begin(), w.end(), '\n') == 1);
  Sample s = ds.load(0);
  CHECK(s.image.w == 40);
  CHECK(s.image.h == 20);
  CHECK(s.image_id == 1);
}

TEST_CASE("coco: bad inputs are errors naming the file and record") {
  SUBCASE("unknown category") {
    const std::string p = make_split(std::string("{") + kImages + R"(, "annotations": [
        {"id": 7, "image_id": 1, "bbox": [1, 1, 5, 5], "category_id": 11}], )" + kCats + "}");
    const std::string e = error_of(p);
    CHECK(e.find(p) != std::string::npos);
    CHECK(e.find("unknown category_id 11") != std::string::npos);
    CHECK(e.find("annotations[0] (id 7)") != std::string::npos);
  }
  SUBCASE("annotation for an unknown image") {
    const std::string p = make_split(std::string("{") + kImages + R"(, "annotations": [
        {"id": 1, "image_id": 99, "bbox": [1, 1, 5, 5], "category_id": 1}], )" + kCats + "}");
    CHECK(error_of(p).find("unknown image_id 99") != std::string::npos);
  }
  SUBCASE("missing image file") {
    const std::string p = make_split(std::string("{") + R"("images": [
        {"id": 3, "file_name": "3.png", "height": 5, "width": 5}], "annotations": [], )" + kCats + "}");
    const std::string e = error_of(p);
    CHECK(e.find("3.png does not exist") != std::string::npos);
    CHECK(e.find("images[0]") != std::string::npos);
  }
  SUBCASE("malformed JSON") {
    const std::string p = make_split(std::string("{") + kImages + ", \"annotations\": [,], " + kCats + "}");
    const std::string e = error_of(p);
    CHECK(e.find(p) != std::string::npos);
    CHECK(e.find("malformed or truncated JSON") != std::string::npos);
  }
  SUBCASE("truncated JSON") {
    std::string full = std::string("{") + kImages + ", \"annotations\": [], " + kCats + "}";
    const std::string p = make_split(full.substr(0, full.size() / 2));
    const std::string e = error_of(p);
    CHECK(e.find(p) != std::string::npos);
    CHECK(e.find("malformed or truncated JSON") != std::string::npos);
  }
  SUBCASE("record missing a field, bad bbox") {
    const std::string p = make_split(std::string("{") + kImages + R"(, "annotations": [
        {"id": 1, "image_id": 1, "category_id": 1}], )" + kCats + "}");
    CHECK(error_of(p).find("missing field \"bbox\"") != std::string::npos);
    const std::string q = make_split(std::string("{") + kImages + R"(, "annotations": [
        {"id": 1, "image_id": 1, "bbox": [1, 2, 3], "category_id": 1}], )" + kCats + "}");
    CHECK(error_of(q).find("bbox must be [x, y, w, h]") != std::string::npos);
  }
  SUBCASE("missing JSON file") {
    CHECK(error_of("/nonexistent/x.json").find("cannot open /nonexistent/x.json") != std::string::npos);
  }
  SUBCASE("corrupt image file, and a size different from the JSON") {
    const std::string p = make_split(std::string("{") + kImages + R"(, "annotations": [], )" + kCats + "}");
    CocoDataset ds = read_coco(p);
    const std::string img = ds.image_path(1);
    write_text(img, "\x89PNG\r\n\x1a\nthis is not really a png");
    try {
      ds.load(1);
      FAIL("corrupt image accepted");
    } catch (const Error& e) {
      CHECK(std::string(e.what()).find(img) != std::string::npos);
      CHECK(std::string(e.what()).find("cannot decode") != std::string::npos);
    }
    write_png(img, Image(31, 30));
    try {
      ds.load(1);
      FAIL("wrong size accepted");
    } catch (const Error& e) {
      CHECK(std::string(e.what()).find("is 30x31 but") != std::string::npos);
    }
  }
}

TEST_CASE("image: PNG/JPEG/BMP decode; grey and RGBA become RGB") {
  const std::string dir = test::temp_dir("img");
  // 5x4 pixels with distinct values.
  std::vector<uint8_t> grey(20), rgba(80), rgb(60);
  for (int i = 0; i < 20; ++i) {
    grey[i] = static_cast<uint8_t>(10 * i);
    for (int k = 0; k < 4; ++k) rgba[4 * i + k] = static_cast<uint8_t>(i + 50 * k);
    for (int k = 0; k < 3; ++k) rgb[3 * i + k] = static_cast<uint8_t>(200 - 7 * i + k);
  }
  REQUIRE(stbi_write_png((dir + "/g.png").c_str(), 5, 4, 1, grey.data(), 5));
  REQUIRE(stbi_write_png((dir + "/a.png").c_str(), 5, 4, 4, rgba.data(), 20));
  REQUIRE(stbi_write_bmp((dir + "/c.bmp").c_str(), 5, 4, 3, rgb.data()));
  REQUIRE(stbi_write_jpg((dir + "/c.jpg").c_str(), 5, 4, 3, rgb.data(), 100));
  Image g = read_image(dir + "/g.png");
  REQUIRE(g.w == 5);
  REQUIRE(g.h == 4);
  for (int i = 0; i < 20; ++i)
    for (int k = 0; k < 3; ++k) CHECK(g.px[3 * i + k] == grey[i]);
  Image a = read_image(dir + "/a.png");
  for (int i = 0; i < 20; ++i)
    for (int k = 0; k < 3; ++k) CHECK(a.px[3 * i + k] == rgba[4 * i + k]);  // alpha dropped
  Image b = read_image(dir + "/c.bmp");
  CHECK(b.px == rgb);
  Image j = read_image(dir + "/c.jpg");
  REQUIRE(j.px.size() == rgb.size());
  int worst = 0;
  for (size_t i = 0; i < rgb.size(); ++i) worst = std::max(worst, std::abs(j.px[i] - rgb[i]));
  CHECK(worst < 24);  // lossy, quality 100 with chroma subsampling on a tiny image
  // to_tensor: (3, H, W) in [0, 1].
  Tensor t = to_tensor(b);
  CHECK(t.shape() == Shape{3, 4, 5});
  CHECK(t.data<float>()[20 + 7] == doctest::Approx(rgb[3 * 7 + 1] / 255.0));
  // Not an image at all, and an empty file.
  write_png(dir + "/ok.png", Image(2, 2));
  std::ofstream(dir + "/bad.jpg") << "garbage";
  CHECK_THROWS_WITH_AS(read_image(dir + "/bad.jpg"), doctest::Contains("bad.jpg"), Error);
  std::ofstream(dir + "/empty.png");
  CHECK_THROWS_WITH_AS(read_image(dir + "/empty.png"), doctest::Contains("empty.png"), Error);
  CHECK_THROWS_WITH_AS(read_image(dir + "/none.png"), doctest::Contains("none.png"), Error);
}

TEST_CASE("coco: the real SVHN-style set reads, clips its -1 boxes, and decodes") {
  const std::string dir = test::shared_data_dir();
  if (dir.empty()) {
    MESSAGE("skipped: ../shared/data/svhn-real not found");
    return;
  }
  std::ostringstream warn;
  CocoDataset ds = read_coco(dir + "/valid.json", "", {true, &warn});
  CHECK(ds.size() == 200);
  CHECK(ds.num_boxes() == 499);
  CHECK(ds.clipped == 2);  // boxes starting at -1 or reaching past the edge
  CHECK(warn.str().empty());
  for (const CocoImage& im : ds.images)
    for (const Box& b : im.boxes) {
      CHECK(b.x1 >= 0);
      CHECK(b.y1 >= 0);
      CHECK(b.x2 <= im.width);
      CHECK(b.y2 <= im.height);
      CHECK(b.label >= 1);
      CHECK(b.label <= 10);
    }
  for (size_t i : {size_t(0), size_t(99), size_t(199)}) {
    Sample s = ds.load(i);
    CHECK(s.image.w == ds.images[i].width);
  }
  Tensor bt = boxes_tensor(ds.images[0].boxes), lt = labels_tensor(ds.images[0].boxes);
  CHECK(bt.shape() == Shape{static_cast<int64_t>(ds.images[0].boxes.size()), 4});
  CHECK(lt.dtype() == DType::I64);
  CHECK(bt.data<float>()[2] == ds.images[0].boxes[0].x2);
}

TEST_CASE("image folder: unannotated images read like a split, ids from file stems") {
  const std::string dir = test::temp_dir("folder");
  write_png(dir + "/12.png", Image(7, 9));
  write_png(dir + "/3.png", Image(5, 6));
  std::ofstream(dir + "/notes.txt") << "ignored";
  CocoDataset ds = read_image_folder(dir);
  REQUIRE(ds.size() == 2);
  CHECK(ds.images[0].id == 3);  // sorted by id
  CHECK(ds.images[1].id == 12);
  CHECK(ds.images[1].width == 9);
  CHECK(ds.images[1].height == 7);
  CHECK(ds.images[0].boxes.empty());
  CHECK(ds.load(1).image.w == 9);
  std::ofstream(dir + "/4.png") << "not a png";
  CHECK_THROWS_WITH_AS(read_image_folder(dir), doctest::Contains("4.png"), Error);
  const std::string dir2 = test::temp_dir("folder");
  write_png(dir2 + "/cat.png", Image(2, 2));
  CHECK_THROWS_WITH_AS(read_image_folder(dir2), doctest::Contains("must be the image id"), Error);
}
