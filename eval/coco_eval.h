// COCO bbox evaluation equal to pycocotools' COCOeval(gt, gt.loadRes(dets), "bbox") with
// the default Params, then evaluate(), accumulate(), summarize(). The cross-check test
// (tests/test_coco_eval.cpp against tools/ref/coco_eval.py) holds all 12 numbers to 1e-6.
//
// What COCOeval does and this mirrors (matching rules: eval/coco_match.h):
//  - images: every image of the ground truth (also those without annotations); categories:
//    every category listed; detections of other categories are ignored.
//  - accumulate(): per category, area range and maxDets, the detections of all images
//    (each image's first maxDets by score) are STABLY sorted by score, ignored ones count
//    neither as TP nor FP, precision p = tp / (tp + fp + eps), recall r = tp / npig;
//    precision is made monotone from the right and read at the 101 recall thresholds
//    (first index with r >= thr, numpy searchsorted 'left'); thresholds past the last
//    recall give 0. A category with no non-ignored gt in that area range gives -1 and is
//    left out of the means ("-1 for absent categories"); a mean over nothing is -1.
//  - recall with no detections is 0.
//  - stats: AP, AP50, AP75, AP small/medium/large (maxDets 100), AR@1/10/100,
//    AR small/medium/large (maxDets 100).
//
// Fast path for threshold sweeps: detections with score >= s are a prefix of every sorted
// order above, and matching a detection depends only on higher-scored ones, so
// summarize(s) equals evaluating only those detections (checked by the cross-check too).
#pragma once
#include <array>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "eval/coco_data.h"
#include "eval/coco_match.h"

namespace dr::eval {

// numpy.linspace(start, stop, num) bit for bit: i * ((stop - start) / (num - 1)) + start,
// the last value set to stop (so iouThrs[8] is 0.8999999999999999, as in pycocotools).
std::vector<double> numpy_linspace(double start, double stop, int num);

struct CocoParams {
  std::array<double, kNumIouThrs> iou_thrs;  // linspace(.5, .95, 10)
  std::array<double, kNumRecThrs> rec_thrs;  // linspace(0, 1, 101)
  std::array<int, kNumMaxDets> max_dets{{1, 10, 100}};
  // [0, 1e5^2], [0, 32^2], [32^2, 96^2], [96^2, 1e5^2]
  std::array<std::array<double, 2>, kNumAreaRngs> area_rngs{
      {{{0.0, 1e10}}, {{0.0, 1024.0}}, {{1024.0, 9216.0}}, {{9216.0, 1e10}}}};
  CocoParams();
};

constexpr int kNumStats = 12;
// "AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"
const char* stat_short_name(int i);
// pycocotools' summary line text, e.g. "Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]"
std::string stat_long_name(int i);

struct CocoStats {
  std::array<double, kNumStats> stats{};  // COCOeval.stats
  std::vector<int64_t> category_ids;      // sorted, as Params.catIds
  std::vector<double> category_ap;        // AP@[.5:.95], area all, maxDets 100; -1 = no gt
  std::vector<double> category_ap50;      // AP@.5, area all, maxDets 100; -1 = no gt
  int64_t num_detections = 0;             // detections of listed categories counted
};

class CocoEvaluator {
 public:
  // Runs the per image matching (COCOeval.evaluate); threads: OpenMP.
  CocoEvaluator(const CocoGroundTruth& gt, const std::vector<Detection>& dets);

  // accumulate() + summarize() over the detections with score >= min_score.
  // ap_only: only area "all" and maxDets 100 are accumulated (12x less work, for sweeps):
  // AP, AP50, AP75 and the per-category APs are exact, the other 9 stats are NaN.
  CocoStats summarize(double min_score = -std::numeric_limits<double>::infinity(),
                      bool ap_only = false) const;

  // COCOeval.eval["precision"] (T, R, K, A, M) and ["recall"] (T, K, A, M), row-major,
  // for the detections with score >= min_score (ap_only: other settings stay -1).
  void accumulate(double min_score, std::vector<double>& precision, std::vector<double>& recall,
                  bool ap_only = false) const;

  const CocoParams& params() const { return params_; }
  size_t num_categories() const { return cat_ids_.size(); }

 private:
  CocoParams params_;
  std::vector<int64_t> cat_ids_;  // sorted
  // Per category: its matched detections in accumulate()'s order (stable by score over
  // the concatenation in image-id order), and npig per area range.
  std::vector<std::vector<DetMatch>> dets_;
  std::vector<std::array<int64_t, kNumAreaRngs>> npig_;
};

// A table of the 12 numbers in pycocotools' format (" Average Precision (AP) @[ ... ] = 0.xyz").
std::string format_stats(const CocoStats& s);

}  // namespace dr::eval
