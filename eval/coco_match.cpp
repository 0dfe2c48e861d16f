#include "eval/coco_match.h"

#include <numeric>

namespace dr::eval {

void match_image(const std::vector<const GtAnnotation*>& gts,
                 const std::vector<const Detection*>& dts_in, const MatchParams& p,
                 std::vector<DetMatch>& out, std::array<int64_t, kNumAreaRngs>& npig) {
  // Detections: stable sort by descending score, keep the first max_det.
  std::vector<const Detection*> dts(dts_in);
  std::stable_sort(dts.begin(), dts.end(),
                   [](const Detection* a, const Detection* b) { return a->score > b->score; });
  if (static_cast<int>(dts.size()) > p.max_det) dts.resize(p.max_det);
  const size_t D = dts.size(), G = gts.size();

  // ious (D, G), gts in file order; computeIoU returns [] when either side is empty and
  // evaluateImg then skips matching, which the empty loops below reproduce.
  std::vector<double> ious(D * G);
  for (size_t d = 0; d < D; ++d)
    for (size_t g = 0; g < G; ++g)
      ious[d * G + g] = bbox_iou(dts[d]->bbox, gts[g]->bbox, gts[g]->iscrowd);

  const size_t base = out.size();
  out.resize(base + D);
  for (size_t d = 0; d < D; ++d) {
    out[base + d].score = dts[d]->score;
    out[base + d].rank = static_cast<int32_t>(d);
  }

  std::vector<size_t> order(G);         // gt indices, non-ignored first (stable)
  std::vector<char> ig(G), gt_taken(G);  // indexed by position in order
  for (int a = 0; a < kNumAreaRngs; ++a) {
    const double lo = p.area_rngs[a][0], hi = p.area_rngs[a][1];
    std::vector<char> ignore_by_file(G);
    for (size_t g = 0; g < G; ++g)
      ignore_by_file[g] = gts[g]->iscrowd || gts[g]->area < lo || gts[g]->area > hi;
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) {
      return ignore_by_file[x] < ignore_by_file[y];
    });
    for (size_t gi = 0; gi < G; ++gi) {
      ig[gi] = ignore_by_file[order[gi]];
      if (!ig[gi]) npig[a]++;
    }
    for (int t = 0; t < kNumIouThrs; ++t) {
      std::fill(gt_taken.begin(), gt_taken.end(), 0);
      const uint16_t bit = static_cast<uint16_t>(1u << t);
      for (size_t d = 0; d < D; ++d) {
        double iou = std::min(p.iou_thrs[t], 1 - 1e-10);
        long m = -1;
        for (size_t gi = 0; gi < G; ++gi) {
          const GtAnnotation& g = *gts[order[gi]];
          if (gt_taken[gi] && !g.iscrowd) continue;
          if (m > -1 && !ig[m] && ig[gi]) break;
          const double v = ious[d * G + order[gi]];
          if (v < iou) continue;
          iou = v;
          m = static_cast<long>(gi);
        }
        if (m == -1) continue;
        DetMatch& r = out[base + d];
        if (ig[m]) r.ignored[a] |= bit;
        if (gts[order[m]]->id != 0) r.matched[a] |= bit;
        gt_taken[m] = 1;
      }
    }
    // Unmatched detections outside the area range are ignored.
    for (size_t d = 0; d < D; ++d) {
      const double area = dts[d]->bbox.w * dts[d]->bbox.h;  // loadRes: bb[2]*bb[3]
      if (area < lo || area > hi) {
        DetMatch& r = out[base + d];
        r.ignored[a] |= static_cast<uint16_t>(~r.matched[a] & ((1u << kNumIouThrs) - 1));
      }
    }
  }
}

}  // namespace dr::eval
