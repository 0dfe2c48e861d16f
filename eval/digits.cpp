#include "eval/digits.h"

#include <algorithm>
#include <numeric>

#include "eval/coco_match.h"
#include "kernels/error.h"

namespace dr::eval {

int category_digit(int64_t category_id, const std::string& what) {
  DR_CHECK(category_id >= 1 && category_id <= 10,
           what << ": category_id " << category_id
                << " is not a digit category (1..10, where 1 is the digit 0)");
  return static_cast<int>(category_id - 1);
}

std::vector<DigitBox> suppress_overlapping_digits(const std::vector<DigitBox>& boxes,
                                                  double max_iou) {
  if (max_iou >= 1 || boxes.size() < 2) return boxes;
  std::vector<size_t> by_score(boxes.size());
  std::iota(by_score.begin(), by_score.end(), size_t{0});
  std::stable_sort(by_score.begin(), by_score.end(),
                   [&](size_t i, size_t j) { return boxes[i].score > boxes[j].score; });
  std::vector<char> keep(boxes.size(), 0);
  std::vector<size_t> kept;  // indices, highest score first
  for (size_t i : by_score) {
    bool suppressed = false;
    for (size_t k : kept)
      if (bbox_iou(boxes[i].bbox, boxes[k].bbox, /*g_crowd=*/false) > max_iou) {
        suppressed = true;
        break;
      }
    if (!suppressed) kept.push_back(i), keep[i] = 1;
  }
  std::vector<DigitBox> out;
  for (size_t i = 0; i < boxes.size(); ++i)
    if (keep[i]) out.push_back(boxes[i]);
  return out;
}

std::string digit_string(std::vector<DigitBox> boxes) {
  if (boxes.empty()) return kNoDigits;
  std::vector<size_t> order(boxes.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t i, size_t j) {
    const DigitBox &a = boxes[i], &b = boxes[j];
    const double ca = a.bbox.x + a.bbox.w / 2, cb = b.bbox.x + b.bbox.w / 2;
    if (ca != cb) return ca < cb;
    if (a.score != b.score) return a.score > b.score;
    if (a.bbox.x != b.bbox.x) return a.bbox.x < b.bbox.x;
    return a.bbox.y < b.bbox.y;
  });
  std::string s;
  for (size_t i : order) s += static_cast<char>('0' + boxes[i].digit);
  return s;
}

std::vector<std::string> gt_strings(const CocoGroundTruth& gt) {
  std::vector<std::vector<DigitBox>> per(gt.images.size());
  for (const GtAnnotation& a : gt.annotations) {
    if (a.iscrowd) continue;
    per[gt.image_index.at(a.image_id)].push_back(
        {a.bbox, category_digit(a.category_id, gt.source + ": annotation " + std::to_string(a.id)),
         1.0});
  }
  std::vector<std::string> out;
  for (auto& boxes : per) out.push_back(digit_string(std::move(boxes)));
  return out;
}

DigitPredictor::DigitPredictor(const CocoGroundTruth& gt, const std::vector<Detection>& dets)
    : per_image_(gt.images.size()) {
  for (size_t n = 0; n < dets.size(); ++n) {
    const Detection& d = dets[n];
    auto it = gt.image_index.find(d.image_id);
    DR_CHECK(it != gt.image_index.end(),
             "detection " << n << ": image_id " << d.image_id << " is not an image of " << gt.source);
    per_image_[it->second].push_back(
        {d.bbox, category_digit(d.category_id, "detection " + std::to_string(n)), d.score});
  }
}

std::vector<std::string> DigitPredictor::strings(double threshold, double nms_iou) const {
  std::vector<std::string> out(per_image_.size());
  std::vector<DigitBox> kept;
  for (size_t i = 0; i < per_image_.size(); ++i) {
    kept.clear();
    for (const DigitBox& b : per_image_[i])
      if (b.score >= threshold) kept.push_back(b);
    out[i] = digit_string(suppress_overlapping_digits(kept, nms_iou));
  }
  return out;
}

std::vector<std::string> predicted_strings(const CocoGroundTruth& gt,
                                           const std::vector<Detection>& dets, double threshold,
                                           double nms_iou) {
  return DigitPredictor(gt, dets).strings(threshold, nms_iou);
}

const char* error_kind_name(ErrorKind k) {
  switch (k) {
    case ErrorKind::kCorrect: return "correct";
    case ErrorKind::kMissedDigit: return "missed digit";
    case ErrorKind::kExtraDigit: return "extra digit";
    case ErrorKind::kWrongDigit: return "wrong digit";
    case ErrorKind::kWrongOrder: return "wrong order";
  }
  return "?";
}

namespace {
std::string digits_of(const std::string& s) { return s == kNoDigits ? std::string() : s; }
}  // namespace

ErrorKind classify(const std::string& pred, const std::string& truth) {
  if (pred == truth) return ErrorKind::kCorrect;
  std::string p = digits_of(pred), t = digits_of(truth);
  if (p.size() < t.size()) return ErrorKind::kMissedDigit;
  if (p.size() > t.size()) return ErrorKind::kExtraDigit;
  std::sort(p.begin(), p.end());
  std::sort(t.begin(), t.end());
  return p == t ? ErrorKind::kWrongOrder : ErrorKind::kWrongDigit;
}

int string_edit_distance(const std::string& pred, const std::string& truth) {
  const std::string a = digits_of(pred), b = digits_of(truth);
  std::vector<int> row(b.size() + 1);
  std::iota(row.begin(), row.end(), 0);
  for (size_t i = 1; i <= a.size(); ++i) {
    int diag = row[0];
    row[0] = static_cast<int>(i);
    for (size_t j = 1; j <= b.size(); ++j) {
      int up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
      diag = up;
    }
  }
  return row[b.size()];
}

AccuracyReport score_strings(const CocoGroundTruth& gt, const std::vector<std::string>& truth,
                             const std::vector<std::string>& pred) {
  DR_CHECK(truth.size() == gt.images.size() && pred.size() == gt.images.size(),
           "score_strings: " << truth.size() << " truths and " << pred.size()
                             << " predictions for " << gt.images.size() << " images");
  AccuracyReport r;
  r.images = static_cast<int64_t>(gt.images.size());
  for (size_t i = 0; i < gt.images.size(); ++i) {
    ImageOutcome o{gt.images[i].id, truth[i], pred[i], classify(pred[i], truth[i]),
                   string_edit_distance(pred[i], truth[i])};
    r.counts[static_cast<int>(o.kind)]++;
    r.outcomes.push_back(std::move(o));
  }
  r.correct = r.counts[0];
  r.accuracy = r.images ? static_cast<double>(r.correct) / static_cast<double>(r.images) : 0.0;
  return r;
}

}  // namespace dr::eval
