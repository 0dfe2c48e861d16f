#include "eval/sweep.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "eval/coco_eval.h"
#include "eval/digits.h"
#include "kernels/error.h"

namespace dr::eval {

std::vector<double> sweep_thresholds(double lo, double hi, double step) {
  DR_CHECK(step > 0 && hi >= lo && std::isfinite(lo) && std::isfinite(hi),
           "sweep: thresholds need lo <= hi and step > 0, got lo " << lo << ", hi " << hi
                                                                   << ", step " << step);
  const long n = std::lround(std::floor((hi - lo) / step + 1e-9));
  DR_CHECK(n < 100000, "sweep: " << n << " thresholds is too many (step " << step << ")");
  std::vector<double> t;
  for (long i = 0; i <= n; ++i) t.push_back(std::round((lo + i * step) * 1e9) / 1e9);
  return t;
}

std::vector<SweepRow> run_sweep(const CocoGroundTruth& gt, const std::vector<Detection>& dets,
                                const std::vector<double>& thresholds, double nms_iou) {
  CocoEvaluator ev(gt, dets);
  DigitPredictor predictor(gt, dets);
  const std::vector<std::string> truth = gt_strings(gt);
  std::vector<SweepRow> rows;
  for (double thr : thresholds) {
    CocoStats s = ev.summarize(thr, /*ap_only=*/true);
    AccuracyReport acc = score_strings(gt, truth, predictor.strings(thr, nms_iou));
    SweepRow r;
    r.threshold = thr;
    r.map = s.stats[0];
    r.map50 = s.stats[1];
    r.accuracy = acc.accuracy;
    r.correct = acc.correct;
    r.images = acc.images;
    r.detections = s.num_detections;
    rows.push_back(r);
  }
  return rows;
}

size_t best_by_accuracy(const std::vector<SweepRow>& rows) {
  DR_CHECK(!rows.empty(), "sweep: no thresholds");
  size_t best = 0;
  for (size_t i = 1; i < rows.size(); ++i) {
    const SweepRow &a = rows[i], &b = rows[best];
    if (a.accuracy > b.accuracy || (a.accuracy == b.accuracy && a.map > b.map)) best = i;
  }
  return best;
}

std::string format_sweep_table(const std::vector<SweepRow>& rows) {
  std::ostringstream os;
  char buf[160];
  std::snprintf(buf, sizeof buf, "%9s %8s %8s %9s %9s %11s\n", "threshold", "mAP", "AP50",
                "accuracy", "correct", "detections");
  os << buf;
  const size_t best = rows.empty() ? 0 : best_by_accuracy(rows);
  for (size_t i = 0; i < rows.size(); ++i) {
    const SweepRow& r = rows[i];
    std::snprintf(buf, sizeof buf, "%9.2f %8.4f %8.4f %9.4f %9lld %11lld%s\n", r.threshold, r.map,
                  r.map50, r.accuracy, static_cast<long long>(r.correct),
                  static_cast<long long>(r.detections), i == best ? "  <- best accuracy" : "");
    os << buf;
  }
  return os.str();
}

void write_sweep_csv(const std::string& path, const std::vector<SweepRow>& rows) {
  std::ofstream f(path);
  DR_CHECK(f, path << ": cannot open for writing");
  f << "threshold,map,map50,accuracy,correct,images,detections\n";
  char buf[200];
  for (const SweepRow& r : rows) {
    std::snprintf(buf, sizeof buf, "%.4f,%.10f,%.10f,%.10f,%lld,%lld,%lld\n", r.threshold, r.map,
                  r.map50, r.accuracy, static_cast<long long>(r.correct),
                  static_cast<long long>(r.images), static_cast<long long>(r.detections));
    f << buf;
  }
  DR_CHECK(f.good(), path << ": write error");
}

}  // namespace dr::eval
