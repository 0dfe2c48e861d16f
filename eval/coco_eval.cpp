#include "eval/coco_eval.h"

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <unordered_map>

#include "kernels/error.h"

namespace dr::eval {

std::vector<double> numpy_linspace(double start, double stop, int num) {
  std::vector<double> y(static_cast<size_t>(num));
  const double step = (stop - start) / (num - 1);
  for (int i = 0; i < num; ++i) y[i] = static_cast<double>(i) * step + start;
  if (num > 1) y[num - 1] = stop;
  return y;
}

CocoParams::CocoParams() {
  // pycocotools: np.linspace(.5, 0.95, int(np.round((0.95 - .5) / .05)) + 1) and
  // np.linspace(.0, 1.00, int(np.round((1.00 - .0) / .01)) + 1).
  auto t = numpy_linspace(0.5, 0.95, kNumIouThrs);
  auto r = numpy_linspace(0.0, 1.0, kNumRecThrs);
  std::copy(t.begin(), t.end(), iou_thrs.begin());
  std::copy(r.begin(), r.end(), rec_thrs.begin());
}

namespace {

struct StatSpec {
  const char* short_name;
  bool ap;
  double iou;  // < 0: all thresholds
  int area;
  int max_det_index;
};
// COCOeval.summarize()._summarizeDets, in order.
constexpr StatSpec kSpecs[kNumStats] = {
    {"AP", true, -1, 0, 2},     {"AP50", true, 0.5, 0, 2},  {"AP75", true, 0.75, 0, 2},
    {"APs", true, -1, 1, 2},    {"APm", true, -1, 2, 2},    {"APl", true, -1, 3, 2},
    {"AR1", false, -1, 0, 0},   {"AR10", false, -1, 0, 1},  {"AR100", false, -1, 0, 2},
    {"ARs", false, -1, 1, 2},   {"ARm", false, -1, 2, 2},   {"ARl", false, -1, 3, 2}};
constexpr const char* kAreaNames[kNumAreaRngs] = {"all", "small", "medium", "large"};

}  // namespace

const char* stat_short_name(int i) { return kSpecs[i].short_name; }

std::string stat_long_name(int i) {
  const StatSpec& s = kSpecs[i];
  const int md[kNumMaxDets] = {1, 10, 100};
  char buf[160];
  char iou[16];
  if (s.iou < 0)
    std::snprintf(iou, sizeof iou, "0.50:0.95");
  else
    std::snprintf(iou, sizeof iou, "%0.2f", s.iou);
  std::snprintf(buf, sizeof buf, "%-18s %s @[ IoU=%-9s | area=%6s | maxDets=%3d ]",
                s.ap ? "Average Precision" : "Average Recall", s.ap ? "(AP)" : "(AR)", iou,
                kAreaNames[s.area], md[s.max_det_index]);
  return buf;
}

CocoEvaluator::CocoEvaluator(const CocoGroundTruth& gt, const std::vector<Detection>& dets) {
  for (const Category& c : gt.categories) cat_ids_.push_back(c.id);
  std::sort(cat_ids_.begin(), cat_ids_.end());
  std::vector<int64_t> img_ids;
  for (const ImageInfo& im : gt.images) img_ids.push_back(im.id);
  std::sort(img_ids.begin(), img_ids.end());
  const size_t K = cat_ids_.size(), I = img_ids.size();
  std::unordered_map<int64_t, size_t> kpos, ipos;
  for (size_t k = 0; k < K; ++k) kpos[cat_ids_[k]] = k;
  for (size_t i = 0; i < I; ++i) ipos[img_ids[i]] = i;

  // Group into (category, image) cells, file order inside a cell (counting sort).
  auto group = [&](auto& items, std::vector<size_t>& start,
                   std::vector<const typename std::decay_t<decltype(items)>::value_type*>& out) {
    std::vector<size_t> cell(items.size(), SIZE_MAX);
    start.assign(K * I + 1, 0);
    for (size_t n = 0; n < items.size(); ++n) {
      auto k = kpos.find(items[n].category_id);
      auto i = ipos.find(items[n].image_id);
      if (k == kpos.end() || i == ipos.end()) continue;  // COCOeval drops them too
      cell[n] = k->second * I + i->second;
      start[cell[n] + 1]++;
    }
    for (size_t c = 0; c < K * I; ++c) start[c + 1] += start[c];
    out.assign(start[K * I], nullptr);
    std::vector<size_t> fill(start.begin(), start.end() - 1);
    for (size_t n = 0; n < items.size(); ++n)
      if (cell[n] != SIZE_MAX) out[fill[cell[n]]++] = &items[n];
  };
  std::vector<size_t> gstart, dstart;
  std::vector<const GtAnnotation*> gptr;
  std::vector<const Detection*> dptr;
  group(gt.annotations, gstart, gptr);
  group(dets, dstart, dptr);

  MatchParams mp;
  mp.iou_thrs = params_.iou_thrs;
  mp.area_rngs = params_.area_rngs;
  mp.max_det = params_.max_dets[kNumMaxDets - 1];
  dets_.assign(K, {});
  npig_.assign(K, {});
#pragma omp parallel for schedule(dynamic, 1)
  for (long k = 0; k < static_cast<long>(K); ++k) {
    std::vector<DetMatch>& out = dets_[k];
    std::vector<const GtAnnotation*> g;
    std::vector<const Detection*> d;
    for (size_t i = 0; i < I; ++i) {
      const size_t c = k * I + i;
      g.assign(gptr.begin() + gstart[c], gptr.begin() + gstart[c + 1]);
      d.assign(dptr.begin() + dstart[c], dptr.begin() + dstart[c + 1]);
      if (g.empty() && d.empty()) continue;  // evaluateImg returns None
      match_image(g, d, mp, out, npig_[k]);
    }
    // accumulate()'s order: np.argsort(-dtScores, kind='mergesort') over the concatenation.
    std::stable_sort(out.begin(), out.end(),
                     [](const DetMatch& a, const DetMatch& b) { return a.score > b.score; });
  }
}

void CocoEvaluator::accumulate(double min_score, std::vector<double>& precision,
                               std::vector<double>& recall, bool ap_only) const {
  const size_t T = kNumIouThrs, R = kNumRecThrs, K = cat_ids_.size(), A = kNumAreaRngs,
               M = kNumMaxDets;
  precision.assign(T * R * K * A * M, -1.0);
  recall.assign(T * K * A * M, -1.0);
  const double eps = std::numeric_limits<double>::epsilon();  // np.spacing(1)
#pragma omp parallel for schedule(dynamic, 1)
  for (long k = 0; k < static_cast<long>(K); ++k) {
    const std::vector<DetMatch>& all = dets_[k];
    size_t n_pass = 0;  // sorted by score: the detections >= min_score are a prefix
    while (n_pass < all.size() && all[n_pass].score >= min_score) ++n_pass;
    std::vector<const DetMatch*> sel;
    std::vector<double> rc, pr;
    for (size_t a = 0; a < (ap_only ? 1 : A); ++a) {
      const int64_t npig = npig_[k][a];
      if (npig == 0) continue;  // -1: no gt in this category and area range
      for (size_t m = ap_only ? M - 1 : 0; m < M; ++m) {
        sel.clear();
        for (size_t n = 0; n < n_pass; ++n)
          if (all[n].rank < params_.max_dets[m]) sel.push_back(&all[n]);
        const size_t nd = sel.size();
        rc.resize(nd);
        pr.resize(nd);
        for (size_t t = 0; t < T; ++t) {
          const uint16_t bit = static_cast<uint16_t>(1u << t);
          double tp = 0, fp = 0;
          for (size_t n = 0; n < nd; ++n) {
            if (!(sel[n]->ignored[a] & bit)) {
              if (sel[n]->matched[a] & bit)
                tp += 1;
              else
                fp += 1;
            }
            rc[n] = tp / static_cast<double>(npig);
            pr[n] = tp / (fp + tp + eps);
          }
          recall[((t * K + k) * A + a) * M + m] = nd ? rc[nd - 1] : 0.0;
          for (size_t n = nd; n-- > 1;)
            if (pr[n] > pr[n - 1]) pr[n - 1] = pr[n];
          // q[ri] = pr[searchsorted(rc, recThrs[ri], 'left')], 0 past the end.
          size_t pi = 0;
          for (size_t ri = 0; ri < R; ++ri) {
            while (pi < nd && rc[pi] < params_.rec_thrs[ri]) ++pi;
            precision[(((t * R + ri) * K + k) * A + a) * M + m] = pi < nd ? pr[pi] : 0.0;
          }
        }
      }
    }
  }
}

CocoStats CocoEvaluator::summarize(double min_score, bool ap_only) const {
  std::vector<double> precision, recall;
  accumulate(min_score, precision, recall, ap_only);
  const size_t T = kNumIouThrs, R = kNumRecThrs, K = cat_ids_.size(), A = kNumAreaRngs,
               M = kNumMaxDets;
  // Mean of the entries > -1 (np.mean(s[s > -1])), -1 when there are none.
  auto mean_valid = [](double sum, size_t n) { return n ? sum / static_cast<double>(n) : -1.0; };
  // t_sel: the threshold index where iouThrs == iou exactly (np.where), none -> empty -> -1.
  auto thr_index = [&](double iou) -> long {
    for (size_t t = 0; t < T; ++t)
      if (params_.iou_thrs[t] == iou) return static_cast<long>(t);
    return -2;
  };
  CocoStats s;
  for (int i = 0; i < kNumStats; ++i) {
    const StatSpec& sp = kSpecs[i];
    const long ts = sp.iou < 0 ? -1 : thr_index(sp.iou);
    double sum = 0;
    size_t n = 0;
    for (size_t t = 0; t < T; ++t) {
      if (ts != -1 && static_cast<long>(t) != ts) continue;
      for (size_t k = 0; k < K; ++k) {
        if (sp.ap) {
          for (size_t r = 0; r < R; ++r) {
            double v = precision[(((t * R + r) * K + k) * A + sp.area) * M + sp.max_det_index];
            if (v > -1) sum += v, ++n;
          }
        } else {
          double v = recall[((t * K + k) * A + sp.area) * M + sp.max_det_index];
          if (v > -1) sum += v, ++n;
        }
      }
    }
    s.stats[i] = mean_valid(sum, n);
    if (ap_only && (sp.area != 0 || sp.max_det_index != M - 1 || !sp.ap)) s.stats[i] = NAN;
  }
  s.category_ids = cat_ids_;
  for (size_t k = 0; k < K; ++k) {
    double sum = 0, sum50 = 0;
    size_t n = 0, n50 = 0;
    for (size_t t = 0; t < T; ++t)
      for (size_t r = 0; r < R; ++r) {
        double v = precision[(((t * R + r) * K + k) * A + 0) * M + (M - 1)];
        if (v > -1) {
          sum += v, ++n;
          if (t == 0) sum50 += v, ++n50;
        }
      }
    s.category_ap.push_back(mean_valid(sum, n));
    s.category_ap50.push_back(mean_valid(sum50, n50));
    for (const DetMatch& d : dets_[k]) s.num_detections += d.score >= min_score;
  }
  return s;
}

std::string format_stats(const CocoStats& s) {
  std::ostringstream os;
  char buf[32];
  for (int i = 0; i < kNumStats; ++i) {
    std::snprintf(buf, sizeof buf, " = %0.3f", s.stats[i]);
    os << " " << stat_long_name(i) << buf << "\n";
  }
  return os.str();
}

}  // namespace dr::eval
