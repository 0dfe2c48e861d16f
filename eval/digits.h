// Whole-number accuracy: the digit string of an image and how a predicted string is wrong.
//
// Rule (docs/EVAL.md): digit = category_id - 1 (category 1 is the digit 0, 10 is 9). An
// image's string is its digits sorted left to right by box center x = x + w / 2. Ties in
// center x are broken deterministically: higher score first, then smaller x_min, then
// smaller y_min, then input order. An image with no digit reads "-1".
// Predicted strings use the detections with score >= a threshold; ground-truth strings use
// every non-crowd annotation (score counts as equal).
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "eval/coco_data.h"

namespace dr::eval {

constexpr const char* kNoDigits = "-1";

struct DigitBox {
  Box bbox;
  int digit = 0;     // 0..9
  double score = 1;  // 1 for ground truth
};

// Class-agnostic NMS before a predicted string is formed. Faster R-CNN suppresses per class,
// so one digit that also scores as another class (a 1 seen as a 7) survives as two
// detections and reads as two digits ("extra digit"). From the highest score down, a box
// whose IoU with an already kept box exceeds the limit is dropped, whatever its digit.
// 0.3, the one default: on svhn-real/valid it lifted the best whole-number accuracy of
// every model we tried (docs/RESULTS.md, "Reading the number"); a limit >= 1 turns it off.
constexpr double kDigitNmsIou = 0.3;
// The boxes kept by that NMS at `max_iou` (every box when max_iou >= 1), in their input
// order. Of equal scores the earlier box is visited first.
std::vector<DigitBox> suppress_overlapping_digits(const std::vector<DigitBox>& boxes,
                                                  double max_iou);

// The digit of a COCO category id (1..10 -> 0..9); throws naming `what` otherwise.
int category_digit(int64_t category_id, const std::string& what);
// The string of the boxes under the rule above ("-1" when empty).
std::string digit_string(std::vector<DigitBox> boxes);

// Strings per image of gt, in gt.images order.
std::vector<std::string> gt_strings(const CocoGroundTruth& gt);
// Predicted strings per image of gt (gt.images order) from the detections >= threshold,
// after the class-agnostic NMS above at nms_iou.
std::vector<std::string> predicted_strings(const CocoGroundTruth& gt,
                                           const std::vector<Detection>& dets, double threshold,
                                           double nms_iou = kDigitNmsIou);

// Reusable per-image index of detections for many thresholds (the sweep).
class DigitPredictor {
 public:
  DigitPredictor(const CocoGroundTruth& gt, const std::vector<Detection>& dets);
  std::vector<std::string> strings(double threshold, double nms_iou = kDigitNmsIou) const;

 private:
  std::vector<std::vector<DigitBox>> per_image_;  // gt.images order
};

enum class ErrorKind { kCorrect = 0, kMissedDigit, kExtraDigit, kWrongDigit, kWrongOrder };
constexpr int kNumErrorKinds = 5;
const char* error_kind_name(ErrorKind k);  // "correct", "missed digit", ...

// Exclusive categories: equal -> correct; shorter than the truth -> missed digit (also a
// "-1" prediction); longer -> extra digit (also digits on a "-1" image); same length with
// the same digits in another order -> wrong order; same length otherwise -> wrong digit.
ErrorKind classify(const std::string& pred, const std::string& truth);
// Levenshtein distance between the digit sequences ("-1" is the empty sequence).
int string_edit_distance(const std::string& pred, const std::string& truth);

struct ImageOutcome {
  int64_t image_id = 0;
  std::string truth, pred;
  ErrorKind kind = ErrorKind::kCorrect;
  int edit_distance = 0;
};

struct AccuracyReport {
  int64_t images = 0, correct = 0;
  double accuracy = 0;  // correct / images (0 when there are no images)
  std::array<int64_t, kNumErrorKinds> counts{};
  std::vector<ImageOutcome> outcomes;  // gt.images order
};

// truth and pred aligned with gt.images.
AccuracyReport score_strings(const CocoGroundTruth& gt, const std::vector<std::string>& truth,
                             const std::vector<std::string>& pred);

}  // namespace dr::eval
