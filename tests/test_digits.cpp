// Whole-number accuracy: the digit-string rule, its tie-breaks, "-1", error categories,
// and the threshold sweep.
#include "eval/digits.h"
#include "eval/sweep.h"
#include "tests/testing.h"

using namespace dr::eval;

namespace {
DigitBox box(double x, double w, int digit, double score = 1, double y = 0) {
  return {{x, y, w, 10}, digit, score};
}
}  // namespace

TEST_CASE("digits: string sorted by center x, -1 when empty, multi-digit") {
  CHECK(digit_string({}) == "-1");
  CHECK(digit_string({box(5, 4, 7)}) == "7");
  // Input order does not matter; center x does: 3 at cx=12, 0 at cx=25, 5 at cx=31.
  CHECK(digit_string({box(20, 10, 0), box(30, 2, 5), box(10, 4, 3)}) == "305");
  // A wide box starting left of a narrow one can still be to its right by center.
  CHECK(digit_string({box(0, 40, 1), box(10, 4, 2)}) == "21");
  CHECK(digit_string({box(0, 5, 1), box(6, 5, 1), box(12, 5, 1), box(18, 5, 0), box(24, 5, 0),
                      box(30, 5, 9)}) == "111009");
}

TEST_CASE("digits: ties in center x are broken by score, then x_min, then y_min, then input order") {
  // Same center x (10): higher score first.
  CHECK(digit_string({box(8, 4, 1, 0.6), box(6, 8, 2, 0.9)}) == "21");
  // Same center and score: smaller x_min first.
  CHECK(digit_string({box(8, 4, 1, 0.5), box(6, 8, 2, 0.5)}) == "21");
  // Same box except y: smaller y_min first.
  CHECK(digit_string({box(8, 4, 1, 0.5, 20), box(8, 4, 2, 0.5, 3)}) == "21");
  // Fully identical boxes keep input order.
  CHECK(digit_string({box(8, 4, 4), box(8, 4, 3)}) == "43");
  CHECK(digit_string({box(8, 4, 3), box(8, 4, 4)}) == "34");
}

TEST_CASE("digits: category ids map to digits 0..9 and others are rejected") {
  CHECK(category_digit(1, "x") == 0);
  CHECK(category_digit(10, "x") == 9);
  CHECK_THROWS_WITH_AS(category_digit(11, "pred.json[3]"),
                       doctest::Contains("pred.json[3]: category_id 11 is not a digit category"),
                       dr::Error);
  CHECK_THROWS_AS(category_digit(0, "x"), dr::Error);
}

TEST_CASE("digits: error categories and edit distance") {
  CHECK(classify("123", "123") == ErrorKind::kCorrect);
  CHECK(classify("-1", "-1") == ErrorKind::kCorrect);
  CHECK(classify("12", "123") == ErrorKind::kMissedDigit);
  CHECK(classify("-1", "7") == ErrorKind::kMissedDigit);
  CHECK(classify("1234", "123") == ErrorKind::kExtraDigit);
  CHECK(classify("5", "-1") == ErrorKind::kExtraDigit);
  CHECK(classify("124", "123") == ErrorKind::kWrongDigit);
  CHECK(classify("321", "123") == ErrorKind::kWrongOrder);
  CHECK(classify("112", "122") == ErrorKind::kWrongDigit);  // same length, other multiset
  CHECK(string_edit_distance("-1", "123") == 3);
  CHECK(string_edit_distance("123", "123") == 0);
  CHECK(string_edit_distance("13", "123") == 1);
  CHECK(string_edit_distance("321", "123") == 2);
  CHECK(std::string(error_kind_name(ErrorKind::kWrongOrder)) == "wrong order");
}

TEST_CASE("digits: strings from ground truth and thresholded detections, accuracy") {
  CocoGroundTruth gt = parse_coco_gt(nlohmann::json::parse(R"({
    "images": [{"id": 5}, {"id": 6}, {"id": 7}],
    "categories": [{"id": 1}, {"id": 2}, {"id": 3}, {"id": 4}, {"id": 5}, {"id": 6},
                   {"id": 7}, {"id": 8}, {"id": 9}, {"id": 10}],
    "annotations": [
      {"id": 1, "image_id": 5, "category_id": 3, "bbox": [20, 0, 10, 20], "area": 200},
      {"id": 2, "image_id": 5, "category_id": 2, "bbox": [5, 0, 10, 20], "area": 200},
      {"id": 3, "image_id": 6, "category_id": 10, "bbox": [0, 0, 10, 20], "area": 200},
      {"id": 4, "image_id": 6, "category_id": 1, "bbox": [0, 0, 10, 20], "area": 200,
       "iscrowd": 1}]})"),
                                     "gt");
  CHECK(gt_strings(gt) == std::vector<std::string>{"12", "9", "-1"});
  std::vector<Detection> dets = {{5, 2, {5, 0, 10, 20}, 0.9},  {5, 3, {20, 0, 10, 20}, 0.6},
                                 {6, 10, {0, 0, 10, 20}, 0.95}, {6, 4, {30, 0, 10, 20}, 0.5},
                                 {7, 5, {0, 0, 9, 9}, 0.4}};
  CHECK(predicted_strings(gt, dets, 0.0) == std::vector<std::string>{"12", "93", "4"});
  CHECK(predicted_strings(gt, dets, 0.55) == std::vector<std::string>{"12", "9", "-1"});
  CHECK(predicted_strings(gt, dets, 0.7) == std::vector<std::string>{"1", "9", "-1"});
  CHECK(predicted_strings(gt, dets, 0.99) == std::vector<std::string>{"-1", "-1", "-1"});
  AccuracyReport r = score_strings(gt, gt_strings(gt), predicted_strings(gt, dets, 0.0));
  CHECK(r.images == 3);
  CHECK(r.correct == 1);
  CHECK(r.accuracy == doctest::Approx(1.0 / 3));
  CHECK(r.counts[static_cast<int>(ErrorKind::kExtraDigit)] == 2);

  auto thr = sweep_thresholds(0.45, 0.90, 0.01);
  REQUIRE(thr.size() == 46);
  CHECK(thr[0] == 0.45);
  CHECK(thr[40] == 0.85);
  CHECK(thr[45] == 0.9);
  auto rows = run_sweep(gt, dets, {0.0, 0.55, 0.7});
  REQUIRE(rows.size() == 3);
  CHECK(rows[1].accuracy == doctest::Approx(1.0));
  CHECK(best_by_accuracy(rows) == 1);
  CHECK(rows[0].detections == 5);
  CHECK(rows[2].detections == 2);
  CHECK(format_sweep_table(rows).find("<- best accuracy") != std::string::npos);
  CHECK_THROWS_AS(sweep_thresholds(0.5, 0.4, 0.01), dr::Error);
  CHECK_THROWS_AS(sweep_thresholds(0.4, 0.5, 0), dr::Error);
}
