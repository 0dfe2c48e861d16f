// Per image and category matching of COCOeval (pycocotools/cocoeval.py: computeIoU and
// evaluateImg, iouType "bbox"), written to give bit-identical IoUs and matches:
//  - IoU is maskApi.c's bbIou: widths from min(x+w) - max(x), zero when <= 0, union
//    da + ga - i, or da alone when the ground truth is a crowd box; areas are w*h here.
//  - detections sorted by score, highest first, with a STABLE sort (numpy mergesort:
//    equal scores keep file order), then cut to maxDets[-1] (100).
//  - per area range, gt "ignore" = iscrowd or area (the annotation's "area" field) outside
//    [lo, hi] (inclusive); gts are stably reordered non-ignored first.
//  - greedy matching per IoU threshold t: each detection takes the not-yet-matched gt
//    (crowd gts can match many) with the highest IoU >= min(t, 1 - 1e-10), scanning gts in
//    that order, preferring the first on equal IoU and never moving from a regular gt to
//    an ignored one.
//  - an unmatched detection whose area w*h is outside the range is ignored.
//  - "matched" is COCOeval's `dtm != 0`, where dtm holds the matched gt's id: a match with
//    a ground truth whose id is 0 counts as NOT matched, exactly like pycocotools.
#pragma once
#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "eval/coco_data.h"

namespace dr::eval {

constexpr int kNumIouThrs = 10;   // COCOeval Params.iouThrs: .50:.05:.95
constexpr int kNumRecThrs = 101;  // Params.recThrs: 0:.01:1
constexpr int kNumAreaRngs = 4;   // all, small, medium, large
constexpr int kNumMaxDets = 3;    // 1, 10, 100

// IoU of detection box d with ground-truth box g, as maskApi.c bbIou.
inline double bbox_iou(const Box& d, const Box& g, bool g_crowd) {
  const double ga = g.w * g.h, da = d.w * d.h;
  const double w = std::min(d.w + d.x, g.w + g.x) - std::max(d.x, g.x);
  if (w <= 0) return 0;
  const double h = std::min(d.h + d.y, g.h + g.y) - std::max(d.y, g.y);
  if (h <= 0) return 0;
  const double i = w * h;
  const double u = g_crowd ? da : da + ga - i;
  return i / u;
}

// One detection after matching: bit t of matched/ignored is COCOeval's dtMatches != 0 /
// dtIgnore at IoU threshold t, per area range a.
struct DetMatch {
  double score = 0;
  int32_t rank = 0;  // position in its image's score order (for the maxDets cut)
  std::array<uint16_t, kNumAreaRngs> matched{};
  std::array<uint16_t, kNumAreaRngs> ignored{};
};

struct MatchParams {
  std::array<double, kNumIouThrs> iou_thrs;
  std::array<std::array<double, 2>, kNumAreaRngs> area_rngs;
  int max_det = 100;  // maxDets[-1]
};

// Matches one (image, category) cell. gts and dts in file order (pointers into the
// caller's arrays). Appends the kept detections, sorted, to out; adds each area range's
// count of non-ignored gts to npig.
void match_image(const std::vector<const GtAnnotation*>& gts,
                 const std::vector<const Detection*>& dts, const MatchParams& p,
                 std::vector<DetMatch>& out, std::array<int64_t, kNumAreaRngs>& npig);

}  // namespace dr::eval
