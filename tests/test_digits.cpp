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

TEST_CASE("digits: class-agnostic NMS keeps the best of overlapping digits, in input order") {
  // A "1" (0.9) and a "7" (0.6) on the same digit (IoU 0.9), a "4" beside them (no overlap).
  const DigitBox one = box(10, 10, 1, 0.9), seven = box(11, 9, 7, 0.6), four = box(30, 10, 4, 0.7);
  auto kept = suppress_overlapping_digits({seven, four, one}, kDigitNmsIou);
  REQUIRE(kept.size() == 2);
  CHECK(kept[0].digit == 4);  // input order, not score order
  CHECK(kept[1].digit == 1);
  CHECK(digit_string(kept) == "14");
  // 1 (or more) turns it off: every box is read, the duplicate too.
  CHECK(suppress_overlapping_digits({seven, four, one}, 1.0).size() == 3);
  CHECK(digit_string(suppress_overlapping_digits({seven, four, one}, 1.0)) == "174");
  // The limit is strict: IoU exactly 0.5 (boxes of width 10 and 5 nested) survives at 0.5 and
  // is suppressed just below it.
  const DigitBox wide = box(0, 10, 2, 0.8), half = box(0, 5, 3, 0.5);
  CHECK(suppress_overlapping_digits({wide, half}, 0.5).size() == 2);
  CHECK(suppress_overlapping_digits({wide, half}, 0.49).size() == 1);
  // Greedy NMS: a box suppressed by a better one suppresses nothing itself. a (0.9) and c
  // (0.7) do not overlap; b (0.8) overlaps both (IoU 1/3 each) and goes, c stays.
  const DigitBox a = box(0, 10, 5, 0.9), b = box(5, 10, 6, 0.8), c = box(10, 10, 8, 0.7);
  CHECK(digit_string(suppress_overlapping_digits({c, b, a}, 0.3)) == "58");
  CHECK(digit_string(suppress_overlapping_digits({c, b, a}, 0.4)) == "568");
  // Neighbouring digits that touch (IoU 0) are never suppressed, even at 0.
  CHECK(suppress_overlapping_digits({box(0, 10, 1), box(10, 10, 2)}, 0.0).size() == 2);
  CHECK(suppress_overlapping_digits({}, 0.3).empty());
}

TEST_CASE("digits: predicted strings, the sweep and accuracy read numbers after the digit NMS") {
  CocoGroundTruth gt = parse_coco_gt(nlohmann::json::parse(R"({
    "images": [{"id": 1}, {"id": 2}],
    "categories": [{"id": 1}, {"id": 2}, {"id": 3}, {"id": 4}, {"id": 5}, {"id": 6},
                   {"id": 7}, {"id": 8}, {"id": 9}, {"id": 10}],
    "annotations": [
      {"id": 1, "image_id": 1, "category_id": 2, "bbox": [0, 0, 10, 20], "area": 200},
      {"id": 2, "image_id": 1, "category_id": 5, "bbox": [12, 0, 10, 20], "area": 200},
      {"id": 3, "image_id": 2, "category_id": 8, "bbox": [0, 0, 10, 20], "area": 200}]})"),
                                     "gt");
  // Image 1 reads "14"; its "1" is also detected as a "7" (0.6) on nearly the same box.
  // Image 2 reads "7", detected once.
  std::vector<Detection> dets = {{1, 2, {0, 0, 10, 20}, 0.9}, {1, 8, {1, 0, 10, 20}, 0.6},
                                 {1, 5, {12, 0, 10, 20}, 0.8}, {2, 8, {0, 0, 10, 20}, 0.7}};
  CHECK(predicted_strings(gt, dets, 0.5) == std::vector<std::string>{"14", "7"});
  CHECK(predicted_strings(gt, dets, 0.5, 1.0) == std::vector<std::string>{"174", "7"});
  auto with = run_sweep(gt, dets, {0.5});
  auto without = run_sweep(gt, dets, {0.5}, 1.0);
  CHECK(with[0].accuracy == doctest::Approx(1.0));
  CHECK(without[0].accuracy == doctest::Approx(0.5));
  // mAP does not depend on how numbers are read.
  CHECK(with[0].map == without[0].map);
}
