// eval::PredictionWriter (the inference command's output) and data::list_image_folder
// in process: formats, id kinds, the digit rule it delegates to eval/digits.h, atomicity.
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "data/image_list.h"
#include "eval/pred_writer.h"
#include "tests/data_helpers.h"
#include "tests/testing.h"

using namespace dr;

namespace {
std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}
bool exists(const std::string& path) { return std::ifstream(path).good(); }
}  // namespace

TEST_CASE("pred writer: pred.json records, pred.csv strings, string ids, atomic publish") {
  const std::string dir = test::temp_dir("pred_writer");
  {
    eval::PredictionWriter w(dir, 0.5);
    // Digits 3 (x center 25), 1 (x center 5), a low score and a non-digit label left out.
    const std::vector<eval::LabeledBox> dets = {{{20, 0, 10, 10}, 4, 0.9},
                                                {{0, 0, 10, 10}, 2, 0.6},
                                                {{10, 0, 10, 10}, 7, 0.4},
                                                {{30, 0, 10, 10}, 12, 0.8}};
    CHECK(w.add("12", true, dets) == "13");
    CHECK(w.add("a,b", false, {}) == "-1");
    CHECK_FALSE(exists(dir + "/pred.json"));  // nothing published before finish()
    w.finish();
    CHECK(w.images() == 2);
    CHECK(w.detections() == 4);
    CHECK(w.non_digit() == 1);
  }
  CHECK(slurp(dir + "/pred.csv") == "image_id,pred_label\n12,13\n\"a,b\",-1\n");
  const auto j = nlohmann::json::parse(slurp(dir + "/pred.json"));
  REQUIRE(j.size() == 4);
  CHECK(j[0] == nlohmann::json::parse(
                    R"({"image_id": 12, "category_id": 4, "bbox": [20, 0, 10, 10], "score": 0.9})"));
  CHECK(j[3]["category_id"] == 12);

  // Only string ids and no detections: "[]".
  const std::string dir2 = test::temp_dir("pred_writer");
  {
    eval::PredictionWriter w(dir2, 0.5);
    w.add("house", false, {});
    w.finish();
  }
  CHECK(nlohmann::json::parse(slurp(dir2 + "/pred.json")) == nlohmann::json::array());
  CHECK(slurp(dir2 + "/pred.csv") == "image_id,pred_label\nhouse,-1\n");

  // Destroyed without finish() (an error mid-run): no output, no temporaries.
  const std::string dir3 = test::temp_dir("pred_writer");
  {
    eval::PredictionWriter w(dir3, 0.5);
    w.add("1", true, {{{0, 0, 1, 1}, 1, 0.9}});
  }
  CHECK_FALSE(exists(dir3 + "/pred.json"));
  CHECK_FALSE(exists(dir3 + "/pred.csv"));

  // pred.csv reads a digit detected as two classes once (class-agnostic NMS, on by default);
  // pred.json keeps both detections.
  const std::string dir4 = test::temp_dir("pred_writer");
  const std::vector<eval::LabeledBox> twice = {{{0, 0, 10, 20}, 2, 0.9}, {{1, 0, 10, 20}, 8, 0.6},
                                               {{12, 0, 10, 20}, 5, 0.8}};
  {
    eval::PredictionWriter w(dir4, 0.5);
    CHECK(w.add("7", true, twice) == "14");
    w.finish();
    CHECK(w.detections() == 3);
  }
  {
    eval::PredictionWriter off(test::temp_dir("pred_writer"), 0.5, 1.0);
    CHECK(off.add("7", true, twice) == "174");
  }

  CHECK_THROWS_WITH_AS(eval::PredictionWriter("/nonexistent/out", 0.5),
                       doctest::Contains("/nonexistent/out/pred.json: cannot write"), Error);
}

TEST_CASE("image list: folder order, ids from stems, duplicates; COCO ids and errors") {
  const std::string dir = test::temp_dir("image_list");
  for (const char* n : {"10.png", "9.JPG", "007.bmp", "b.png", "a.jpeg", "notes.txt"})
    std::ofstream(dir + "/" + n) << "x";
  const auto refs = data::list_image_folder(dir + "/");
  REQUIRE(refs.size() == 5);
  CHECK(refs[0].id.text == "7");
  CHECK(refs[0].path == dir + "/007.bmp");
  CHECK(refs[1].id.value == 9);
  CHECK(refs[2].id.value == 10);
  CHECK((refs[3].id.text == "a" && !refs[3].id.numeric));
  CHECK(refs[4].id.text == "b");

  std::ofstream(dir + "/10.jpg") << "x";
  CHECK_THROWS_WITH_AS(data::list_image_folder(dir), doctest::Contains("have the same image id 10"), Error);

  const std::string json = dir + ".json";
  std::ofstream(json) << R"({"images": [{"id": 5, "file_name": "b.png"}, {"id": 2.0, "file_name": "a.jpeg"}]})";
  const auto coco = data::list_coco_images(json);
  REQUIRE(coco.size() == 2);
  CHECK((coco[0].id.value == 5 && coco[0].path == dir + "/b.png"));
  CHECK(coco[1].id.text == "2");
  std::ofstream(json) << R"({"images": [{"id": 5, "file_name": "b.png"}, {"id": 5, "file_name": "a.jpeg"}]})";
  CHECK_THROWS_WITH_AS(data::list_coco_images(json), doctest::Contains("images[1]: duplicate image id 5"), Error);
  std::ofstream(json) << R"({"images": [{"id": "x", "file_name": "b.png"}]})";
  CHECK_THROWS_WITH_AS(data::list_coco_images(json), doctest::Contains("images[0]: missing or non-numeric"), Error);
  std::ofstream(json) << R"({"images": [)";
  CHECK_THROWS_WITH_AS(data::list_coco_images(json), doctest::Contains("malformed or truncated"), Error);
}
