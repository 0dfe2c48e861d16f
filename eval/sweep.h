// Threshold sweep: one set of raw detections, a range of score thresholds; per threshold
// COCO mAP (AP@[.5:.95]) and AP50 of the detections >= threshold, and whole-number accuracy.
#pragma once
#include <string>
#include <vector>

#include "eval/coco_data.h"
#include "eval/digits.h"

namespace dr::eval {

struct SweepRow {
  double threshold = 0;
  double map = 0, map50 = 0;  // COCO AP@[.5:.95] and AP@.5 of the detections >= threshold
  double accuracy = 0;
  int64_t correct = 0, images = 0, detections = 0;
};

// lo, lo + step, ..., hi (inclusive), each rounded to 1e-9 so 0.45 + 40 * 0.01 prints and
// compares as 0.85, not 0.8500000000000001. Errors on step <= 0 or hi < lo.
std::vector<double> sweep_thresholds(double lo, double hi, double step);

// mAP over the detections >= each threshold, and whole-number accuracy of the strings read
// at it (eval/digits.h, class-agnostic NMS at nms_iou).
std::vector<SweepRow> run_sweep(const CocoGroundTruth& gt, const std::vector<Detection>& dets,
                                const std::vector<double>& thresholds,
                                double nms_iou = kDigitNmsIou);

// The row with the highest accuracy; ties -> higher mAP, then the lower threshold.
size_t best_by_accuracy(const std::vector<SweepRow>& rows);

std::string format_sweep_table(const std::vector<SweepRow>& rows);
void write_sweep_csv(const std::string& path, const std::vector<SweepRow>& rows);

}  // namespace dr::eval
