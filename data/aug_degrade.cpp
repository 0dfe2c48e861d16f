#include "data/aug_degrade.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace dr::data {

std::string Fog::name() const {
  std::ostringstream os;
  os << "Fog(" << intensity_lo << ".." << intensity_hi << ", p=" << p << ")";
  return os.str();
}

void Fog::apply(Image& img, std::vector<Box>&, Rng& rng) const {
  if (rng.uniform() >= p) return;
  const float intensity = static_cast<float>(rng.uniform(intensity_lo, intensity_hi));
  const float colour = static_cast<float>(rng.uniform(190, 245));
  // Two octaves of value noise on coarse grids (cells of ~1/3 and ~1/7 of the image).
  std::vector<float> density(static_cast<size_t>(img.h) * img.w, 0.0f);
  const int cells[2] = {3, 7};
  const float weights[2] = {0.7f, 0.3f};
  for (int o = 0; o < 2; ++o) {
    const int g = cells[o] + 1;
    std::vector<float> grid(static_cast<size_t>(g) * g);
    for (auto& v : grid) v = static_cast<float>(rng.uniform());
    for (int y = 0; y < img.h; ++y) {
      const float gy = static_cast<float>(y) / std::max(1, img.h - 1) * cells[o];
      const int y0 = std::min(static_cast<int>(gy), cells[o] - 1);
      const float ty = gy - y0, sy = ty * ty * (3 - 2 * ty);
      for (int x = 0; x < img.w; ++x) {
        const float gx = static_cast<float>(x) / std::max(1, img.w - 1) * cells[o];
        const int x0 = std::min(static_cast<int>(gx), cells[o] - 1);
        const float tx = gx - x0, sx = tx * tx * (3 - 2 * tx);
        const float a = grid[y0 * g + x0], b = grid[y0 * g + x0 + 1];
        const float c = grid[(y0 + 1) * g + x0], d = grid[(y0 + 1) * g + x0 + 1];
        density[static_cast<size_t>(y) * img.w + x] +=
            weights[o] * ((a * (1 - sx) + b * sx) * (1 - sy) + (c * (1 - sx) + d * sx) * sy);
      }
    }
  }
  for (size_t i = 0; i < density.size(); ++i) {
    const float al = intensity * density[i];
    for (int k = 0; k < 3; ++k) {
      uint8_t& v = img.px[3 * i + k];
      v = static_cast<uint8_t>(std::lround(v * (1 - al) + colour * al));
    }
  }
}

void motion_blur(Image& img, int length, double angle_deg) {
  DR_CHECK(length >= 1 && length % 2 == 1, "motion_blur: length " << length << " must be odd");
  const int half = length / 2;
  const double a = angle_deg * 3.14159265358979323846 / 180.0;
  // The kernel: `length` taps on the line through the centre, rounded to the pixel grid.
  std::vector<std::pair<int, int>> taps;
  for (int i = -half; i <= half; ++i)
    taps.emplace_back(static_cast<int>(std::lround(i * std::cos(a))),
                      static_cast<int>(std::lround(i * std::sin(a))));
  const float wgt = 1.0f / taps.size();
  Image out(img.h, img.w);
  for (int y = 0; y < img.h; ++y)
    for (int x = 0; x < img.w; ++x) {
      float acc[3] = {0, 0, 0};
      for (auto [dx, dy] : taps) {
        const uint8_t* s = img.at(std::clamp(y + dy, 0, img.h - 1), std::clamp(x + dx, 0, img.w - 1));
        for (int k = 0; k < 3; ++k) acc[k] += s[k];
      }
      for (int k = 0; k < 3; ++k) out.at(y, x)[k] = static_cast<uint8_t>(std::lround(acc[k] * wgt));
    }
  img = std::move(out);
}

std::string MotionBlur::name() const {
  return "MotionBlur(len<=" + std::to_string(max_length) + ", p=" + std::to_string(p) + ")";
}

void MotionBlur::apply(Image& img, std::vector<Box>&, Rng& rng) const {
  if (rng.uniform() >= p) return;
  const int n_lengths = std::max(1, (max_length - 1) / 2);  // 3, 5, ..., max_length
  const int length = 3 + 2 * static_cast<int>(rng.randint(n_lengths));
  motion_blur(img, length, rng.uniform(0.0, 180.0));
}

std::string ChannelDropout::name() const { return "ChannelDropout(p=" + std::to_string(p) + ")"; }

void ChannelDropout::apply(Image& img, std::vector<Box>&, Rng& rng) const {
  if (rng.uniform() >= p) return;
  const int c = static_cast<int>(rng.randint(3));
  for (size_t i = c; i < img.px.size(); i += 3) img.px[i] = fill;
}

float box_visibility(const Box& b, const std::vector<uint8_t>& covered, int h, int w) {
  const int x1 = std::max(0, static_cast<int>(std::floor(b.x1)));
  const int y1 = std::max(0, static_cast<int>(std::floor(b.y1)));
  const int x2 = std::min(w, static_cast<int>(std::ceil(b.x2)));
  const int y2 = std::min(h, static_cast<int>(std::ceil(b.y2)));
  int64_t total = 0, hidden = 0;
  for (int y = y1; y < y2; ++y)
    for (int x = x1; x < x2; ++x) {
      ++total;
      hidden += covered[static_cast<size_t>(y) * w + x];
    }
  return total > 0 ? 1.0f - static_cast<float>(hidden) / total : 1.0f;
}

std::string CoarseDropout::name() const {
  std::ostringstream os;
  os << "CoarseDropout(holes<=" << max_holes << ", size " << frac_lo << ".." << frac_hi
     << ", min_visibility=" << min_visibility << ", p=" << p << ")";
  return os.str();
}

void CoarseDropout::apply(Image& img, std::vector<Box>& boxes, Rng& rng) const {
  if (rng.uniform() >= p) return;
  const int holes = 1 + static_cast<int>(rng.randint(max_holes));
  std::vector<uint8_t> covered(static_cast<size_t>(img.h) * img.w, 0);
  for (int hole = 0; hole < holes; ++hole) {
    const uint8_t grey = static_cast<uint8_t>(rng.randint(256));
    for (int t = 0; t < tries; ++t) {
      const int hw = std::max(1, static_cast<int>(img.w * rng.uniform(frac_lo, frac_hi)));
      const int hh = std::max(1, static_cast<int>(img.h * rng.uniform(frac_lo, frac_hi)));
      const int x0 = static_cast<int>(rng.randint(std::max(1, img.w - hw + 1)));
      const int y0 = static_cast<int>(rng.randint(std::max(1, img.h - hh + 1)));
      std::vector<uint8_t> trial = covered;
      for (int y = y0; y < std::min(img.h, y0 + hh); ++y)
        std::fill_n(&trial[static_cast<size_t>(y) * img.w + x0], std::min(hw, img.w - x0), 1);
      bool ok = true;
      for (const Box& b : boxes)
        if (box_visibility(b, trial, img.h, img.w) < min_visibility) {
          ok = false;
          break;
        }
      if (!ok) continue;
      covered.swap(trial);
      for (int y = y0; y < std::min(img.h, y0 + hh); ++y)
        for (int x = x0; x < std::min(img.w, x0 + hw); ++x) {
          uint8_t* o = img.at(y, x);
          o[0] = o[1] = o[2] = grey;
        }
      break;
    }
  }
}

}  // namespace dr::data
