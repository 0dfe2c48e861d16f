// The evaluator's readers: COCO ground truth, pred.json and pred.csv reject bad input
// with a message naming the file, the record and the field.
#include <fstream>

#include "eval/coco_data.h"
#include "eval/pred_csv.h"
#include "tests/testing.h"

using namespace dr::eval;
using nlohmann::json;

namespace {

const char* kGt = R"({
  "images": [{"id": 12, "file_name": "12.png", "width": 50, "height": 20}, {"id": 13}],
  "categories": [{"id": 1, "name": "0"}, {"id": 2, "name": "1"}],
  "annotations": [{"id": 1, "image_id": 12, "category_id": 2, "bbox": [1, 2, 3, 4],
                   "area": 12, "iscrowd": 0}]})";

CocoGroundTruth gt() { return parse_coco_gt(json::parse(kGt), "gt.json"); }

void gt_error(const std::string& text, const std::string& message) {
  CAPTURE(text);
  CHECK_THROWS_WITH_AS(parse_coco_gt(json::parse(text), "gt.json"), doctest::Contains(message.c_str()),
                       dr::Error);
}

void dets_error(const std::string& text, const std::string& message) {
  CAPTURE(text);
  CocoGroundTruth g = gt();
  CHECK_THROWS_WITH_AS(parse_detections(json::parse(text), g, "pred.json"),
                       doctest::Contains(message.c_str()), dr::Error);
}

void csv_error(const std::string& text, const std::string& message) {
  CAPTURE(text);
  CocoGroundTruth g = gt();
  CHECK_THROWS_WITH_AS(parse_pred_csv(text, g, "pred.csv"), doctest::Contains(message.c_str()), dr::Error);
}

}  // namespace

TEST_CASE("eval io: a valid ground truth and detections") {
  CocoGroundTruth g = gt();
  REQUIRE(g.images.size() == 2);
  CHECK(g.images[0].file_name == "12.png");
  CHECK(g.images[0].width == 50);
  CHECK(g.annotations[0].area == 12);
  CHECK(!g.annotations[0].iscrowd);
  auto d = parse_detections(
      json::parse(R"([{"image_id": 13, "category_id": 1, "bbox": [0.5, 1, 2, 3], "score": 0.25},
                      {"image_id": 12.0, "category_id": 9, "bbox": [0, 0, 1, 1], "score": 1}])"),
      g, "pred.json");
  REQUIRE(d.size() == 2);
  CHECK(d[0].bbox.x == 0.5);
  CHECK(d[1].image_id == 12);
  CHECK(d[1].category_id == 9);  // unknown categories are kept (COCOeval ignores them)
  CHECK(parse_detections(json::parse("[]"), g, "pred.json").empty());
}

TEST_CASE("eval io: ground-truth errors") {
  gt_error(R"({"images": [], "categories": []})", "gt.json: missing field \"annotations\"");
  gt_error(R"([1, 2])", "must be a JSON object");
  gt_error(R"({"images": [{"id": "a"}], "categories": [], "annotations": []})",
           "gt.json: images[0]: \"id\" must be an integer, got \"a\"");
  gt_error(R"({"images": [{"id": 1.5}], "categories": [], "annotations": []})",
           "\"id\" must be an integer, got 1.5");
  gt_error(R"({"images": [{"id": 1}, {"id": 1}], "categories": [], "annotations": []})",
           "images[1]: duplicate image id 1");
  gt_error(R"({"images": [{"id": 1}], "categories": [{"id": 1}], "annotations": [
             {"id": 1, "image_id": 2, "category_id": 1, "bbox": [0, 0, 1, 1], "area": 1}]})",
           "annotations[0]: image_id 2 is not in \"images\"");
  gt_error(R"({"images": [{"id": 1}], "categories": [{"id": 1}], "annotations": [
             {"id": 1, "image_id": 1, "category_id": 3, "bbox": [0, 0, 1, 1], "area": 1}]})",
           "annotations[0]: category_id 3 is not in \"categories\"");
  gt_error(R"({"images": [{"id": 1}], "categories": [{"id": 1}], "annotations": [
             {"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1], "area": 1}]})",
           "\"bbox\" must be [x, y, width, height]");
  gt_error(R"({"images": [{"id": 1}], "categories": [{"id": 1}], "annotations": [
             {"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1]}]})",
           "annotations[0]: missing field \"area\"");
  gt_error(R"({"images": [{"id": 1}], "categories": [{"id": 1}], "annotations": [
             {"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, -1, 1], "area": 1}]})",
           "negative width or height");
  gt_error(R"({"images": [{"id": 1}], "categories": [{"id": 1}], "annotations": [
             {"id": 4, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "area": 1},
             {"id": 4, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "area": 1}]})",
           "annotations[1]: duplicate annotation id 4");
}

TEST_CASE("eval io: pred.json errors") {
  dets_error(R"({"image_id": 12})", "detections must be a JSON list");
  dets_error(R"([{"image_id": 99, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5}])",
             "pred.json: detections[0]: image_id 99 is not an image of gt.json");
  dets_error(R"([{"image_id": "12", "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5}])",
             "\"image_id\" must be an integer, got \"12\"");
  dets_error(R"([{"image_id": 12, "category_id": 1, "bbox": [0, 0, 1, 1]}])",
             "detections[0]: missing field \"score\"");
  dets_error(R"([{"image_id": 12, "category_id": 1, "bbox": [0, 0, 1, 1], "score": "high"}])",
             "\"score\" must be a number");
  CHECK_THROWS_WITH_AS(read_detections("/nonexistent/pred.json", gt()),
                       doctest::Contains("/nonexistent/pred.json: cannot open"), dr::Error);
}

TEST_CASE("eval io: pred.csv reading and errors") {
  CocoGroundTruth g = gt();
  PredCsv p = parse_pred_csv("image_id,pred_label\r\n13,-1\r\n12,\"305\"\r\n", g, "pred.csv");
  CHECK(p.labels == std::vector<std::string>{"305", "-1"});
  CHECK(p.missing_rows == 0);
  p = parse_pred_csv("pred_label,extra,image_id\n017,x,13\n", g, "pred.csv");
  CHECK(p.labels == std::vector<std::string>{"-1", "017"});
  CHECK(p.missing_rows == 1);

  csv_error("", "pred.csv: empty file");
  csv_error("image_id,label\n12,3\n", "pred.csv:1: the header must name the columns image_id and pred_label");
  csv_error("id,pred_label\n12,3\n", "must name the columns image_id and pred_label");
  csv_error("image_id,pred_label\nabc,3\n", "pred.csv:2: image_id \"abc\" is not an integer");
  csv_error("image_id,pred_label\n12.5,3\n", "image_id \"12.5\" is not an integer");
  csv_error("image_id,pred_label\n12,3\n99,4\n", "pred.csv:3: image_id 99 is not an image of gt.json");
  csv_error("image_id,pred_label\n12,3\n12,4\n", "pred.csv:3: image_id 12 appears twice");
  csv_error("image_id,pred_label\n12,3a\n", "pred_label \"3a\" is neither -1 nor a digit string");
  csv_error("image_id,pred_label\n12,\n", "pred_label \"\" is neither");
  csv_error("image_id,pred_label\n12\n", "pred.csv:2: 1 fields, the header has 2");
}

TEST_CASE("eval io: pred.json read from a file (streamed) gives the same results and errors") {
  CocoGroundTruth g = gt();
  const std::string dir = "build/test_tmp";
  std::system(("mkdir -p " + dir).c_str());
  auto file_error = [&](const std::string& text, const std::string& message) {
    CAPTURE(text);
    std::ofstream(dir + "/bad_pred.json") << text;
    CHECK_THROWS_WITH_AS(read_detections(dir + "/bad_pred.json", g), doctest::Contains(message.c_str()),
                         dr::Error);
  };
  const std::string ok = R"({"image_id": 12, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5})";
  file_error(ok, "bad_pred.json: detections must be a JSON list");
  file_error("[" + ok + ", 7]", "bad_pred.json: detections[1] is not a JSON object");
  file_error("[" + ok + ", [1, 2]]", "detections[1] is not a JSON object");
  file_error("[" + ok + R"(, {"image_id": 99, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1}])",
             "bad_pred.json: detections[1]: image_id 99 is not an image of gt.json");
  file_error("[" + ok + R"(, {"image_id": 12, "category_id": 1, "bbox": [0, 0, 1], "score": 1}])",
             "detections[1]: \"bbox\" must be [x, y, width, height]");
  file_error("[" + ok, "bad_pred.json: not valid JSON");
  std::ofstream(dir + "/good_pred.json") << "  [" + ok + ", " + ok + "]\n";
  auto d = read_detections(dir + "/good_pred.json", g);
  REQUIRE(d.size() == 2);
  CHECK(d[1].score == 0.5);
  std::ofstream(dir + "/empty_pred.json") << "[]";
  CHECK(read_detections(dir + "/empty_pred.json", g).empty());
}

TEST_CASE("eval io: pred.csv and pred.json round trip through the writers") {
  CocoGroundTruth g = gt();
  const std::string dir = "build/test_tmp";
  std::system(("mkdir -p " + dir).c_str());
  write_pred_csv(dir + "/pred.csv", g, {"42", "-1"});
  CHECK(read_pred_csv(dir + "/pred.csv", g).labels == std::vector<std::string>{"42", "-1"});
  std::vector<Detection> d = {{13, 2, {1.25, 2, 3, 4}, 0.123456789}};
  write_detections(dir + "/pred.json", d);
  auto back = read_detections(dir + "/pred.json", g);
  REQUIRE(back.size() == 1);
  CHECK(back[0].bbox.x == 1.25);
  CHECK(back[0].score == 0.123456789);
}
