#include "data/anchors.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "kernels/error.h"
#include "nn/rng.h"

namespace dr::data {

namespace {
float iou_wh(const std::pair<float, float>& a, const std::pair<float, float>& b) {
  const float inter = std::min(a.first, b.first) * std::min(a.second, b.second);
  return inter / (a.first * a.second + b.first * b.second - inter);
}
}  // namespace

float transform_scale(int h, int w, float min_size, float max_size) {
  const float lo = static_cast<float>(std::min(h, w)), hi = static_cast<float>(std::max(h, w));
  return std::min(min_size / lo, max_size / hi);
}

AnchorSuggestion suggest_anchors(const std::vector<std::pair<float, float>>& wh, int k,
                                 uint64_t seed, int iterations) {
  DR_CHECK(k >= 1, "anchors: k " << k);
  DR_CHECK(wh.size() >= static_cast<size_t>(k), "anchors: " << wh.size() << " boxes for k=" << k);
  Rng rng(seed);
  // k-means++ seeding with 1 - IoU as the distance.
  std::vector<std::pair<float, float>> c;
  c.push_back(wh[rng.randint(static_cast<int64_t>(wh.size()))]);
  std::vector<double> d(wh.size());
  while (static_cast<int>(c.size()) < k) {
    double sum = 0;
    for (size_t i = 0; i < wh.size(); ++i) {
      double best = 1;
      for (const auto& cc : c) best = std::min(best, 1.0 - iou_wh(wh[i], cc));
      d[i] = best * best;
      sum += d[i];
    }
    double r = rng.uniform() * sum;
    size_t pick = 0;
    for (; pick + 1 < wh.size() && r > d[pick]; ++pick) r -= d[pick];
    c.push_back(wh[pick]);
  }
  std::vector<int> assign(wh.size(), -1);
  for (int it = 0; it < iterations; ++it) {
    bool changed = false;
    for (size_t i = 0; i < wh.size(); ++i) {
      int best = 0;
      float bi = -1;
      for (int j = 0; j < k; ++j) {
        const float v = iou_wh(wh[i], c[j]);
        if (v > bi) bi = v, best = j;
      }
      if (assign[i] != best) assign[i] = best, changed = true;
    }
    std::vector<double> sw(k, 0), sh(k, 0), n(k, 0);
    for (size_t i = 0; i < wh.size(); ++i) {
      sw[assign[i]] += wh[i].first, sh[assign[i]] += wh[i].second, n[assign[i]] += 1;
    }
    for (int j = 0; j < k; ++j)
      if (n[j] > 0) c[j] = {static_cast<float>(sw[j] / n[j]), static_cast<float>(sh[j] / n[j])};
    if (!changed) break;
  }
  AnchorSuggestion s;
  std::sort(c.begin(), c.end(), [](auto& a, auto& b) { return a.first * a.second < b.first * b.second; });
  s.clusters = c;
  double iou_sum = 0;
  for (const auto& b : wh) {
    float best = 0;
    for (const auto& cc : c) best = std::max(best, iou_wh(b, cc));
    iou_sum += best;
  }
  s.mean_iou = static_cast<float>(iou_sum / wh.size());
  for (const auto& cc : c) s.sizes.push_back(static_cast<int>(std::lround(std::sqrt(cc.first * cc.second))));
  std::vector<float> ratios;
  for (const auto& b : wh) ratios.push_back(b.second / b.first);
  std::sort(ratios.begin(), ratios.end());
  for (double q : {0.1, 0.5, 0.9}) {
    const float r = ratios[static_cast<size_t>(q * (ratios.size() - 1))];
    s.aspect_ratios.push_back(std::round(r * 10.0f) / 10.0f);
  }
  return s;
}

std::string AnchorSuggestion::torchvision() const {
  std::ostringstream os;
  os << "sizes=(";
  for (size_t i = 0; i < sizes.size(); ++i) os << (i ? ", " : "") << "(" << sizes[i] << ",)";
  os << "), aspect_ratios=((";
  for (size_t i = 0; i < aspect_ratios.size(); ++i) os << (i ? ", " : "") << aspect_ratios[i];
  os << "),) * " << sizes.size();
  return os.str();
}

std::string AnchorSuggestion::flags() const {
  std::ostringstream os;
  os << "--anchor-sizes ";
  for (size_t i = 0; i < sizes.size(); ++i) os << (i ? "," : "") << sizes[i];
  os << " --aspect-ratios ";
  for (size_t i = 0; i < aspect_ratios.size(); ++i) os << (i ? "," : "") << aspect_ratios[i];
  return os.str();
}

}  // namespace dr::data
