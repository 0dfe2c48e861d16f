#include "tests/detections_match.h"

#include <cmath>
#include <sstream>
#include <vector>

namespace dr::test {

std::string match_detections(Context& ctx, const DetectionSet& actual, const DetectionSet& expected,
                             double box_atol, double score_atol) {
  std::vector<double> ab = to_doubles(ctx, actual.boxes), eb = to_doubles(ctx, expected.boxes);
  std::vector<double> as = to_doubles(ctx, actual.scores), es = to_doubles(ctx, expected.scores);
  std::vector<double> al, el;
  if (expected.labels.defined()) {
    al = to_doubles(ctx, actual.labels);
    el = to_doubles(ctx, expected.labels);
  }
  std::ostringstream os;
  if (as.size() != es.size()) {
    os << "count " << as.size() << " vs expected " << es.size();
    return os.str();
  }
  std::vector<bool> used(as.size(), false);
  for (size_t i = 0; i < es.size(); ++i) {
    size_t best = as.size();
    double best_err = 1e300;
    for (size_t j = 0; j < as.size(); ++j) {
      if (used[j] || (!el.empty() && al[j] != el[i])) continue;
      if (std::fabs(as[j] - es[i]) > score_atol) continue;
      double err = 0;
      for (int c = 0; c < 4; ++c) err = std::max(err, std::fabs(ab[4 * j + c] - eb[4 * i + c]));
      if (err < best_err) best_err = err, best = j;
    }
    if (best == as.size() || best_err > box_atol) {
      os << "expected row " << i << " (score " << es[i] << ", box " << eb[4 * i] << ","
         << eb[4 * i + 1] << "," << eb[4 * i + 2] << "," << eb[4 * i + 3]
         << (el.empty() ? "" : ", label " + std::to_string(int(el[i]))) << ") has no match";
      if (best != as.size()) os << "; closest box differs by " << best_err;
      return os.str();
    }
    used[best] = true;
  }
  return "";
}

double scaled_atol(Context& ctx, const Tensor& t, double frac) {
  double m = 0;
  for (double v : to_doubles(ctx, t)) m = std::max(m, std::fabs(v));
  return frac * m;
}

}  // namespace dr::test
