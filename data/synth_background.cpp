// Backgrounds for synthetic house numbers: plain walls, gradients, noise textures
// (plaster, stone), siding stripes, bricks; and clutter (plaque frames, lines, blobs).
#include <algorithm>
#include <cmath>

#include "data/synth_canvas.h"

namespace dr::data {

Image Canvas::to_image() const {
  Image img(h, w);
  for (size_t i = 0; i < px.size(); ++i)
    img.px[i] = static_cast<uint8_t>(std::lround(std::clamp(px[i], 0.0f, 255.0f)));
  return img;
}

float luminance(const Rgb& c) { return 0.299f * c[0] + 0.587f * c[1] + 0.114f * c[2]; }

Rgb random_colour(Rng& rng) {
  // Mostly muted colours (walls, plaques), sometimes saturated ones.
  const float base = static_cast<float>(rng.uniform(0, 255));
  const float spread = rng.uniform() < 0.7 ? 40.f : 140.f;
  Rgb c;
  for (auto& v : c) v = std::clamp(base + static_cast<float>(rng.uniform(-spread, spread)), 0.f, 255.f);
  return c;
}

Rgb contrasting_colour(Rng& rng, const Rgb& bg, float min_contrast) {
  for (int t = 0; t < 20; ++t) {
    Rgb c = random_colour(rng);
    if (std::fabs(luminance(c) - luminance(bg)) >= min_contrast) return c;
  }
  // Fall back to near-black or near-white, whichever is further.
  const float v = luminance(bg) > 127 ? static_cast<float>(rng.uniform(0, 40))
                                      : static_cast<float>(rng.uniform(215, 255));
  return {v, v, v};
}

ValueNoise::ValueNoise(Rng& rng, int c) : cells(c), grid(static_cast<size_t>(c + 1) * (c + 1)) {
  for (auto& v : grid) v = static_cast<float>(rng.uniform());
}

float ValueNoise::at(float x, float y) const {
  const float gx = std::clamp(x, 0.f, 1.f) * cells, gy = std::clamp(y, 0.f, 1.f) * cells;
  const int x0 = std::min(static_cast<int>(gx), cells - 1), y0 = std::min(static_cast<int>(gy), cells - 1);
  float tx = gx - x0, ty = gy - y0;
  tx = tx * tx * (3 - 2 * tx);
  ty = ty * ty * (3 - 2 * ty);
  const int g = cells + 1;
  const float a = grid[y0 * g + x0], b = grid[y0 * g + x0 + 1];
  const float c = grid[(y0 + 1) * g + x0], d = grid[(y0 + 1) * g + x0 + 1];
  return (a * (1 - tx) + b * tx) * (1 - ty) + (c * (1 - tx) + d * tx) * ty;
}

namespace {

void fill_plain(Canvas& c, const Rgb& col) {
  for (int y = 0; y < c.h; ++y)
    for (int x = 0; x < c.w; ++x) {
      float* p = c.at(y, x);
      p[0] = col[0], p[1] = col[1], p[2] = col[2];
    }
}

void fill_gradient(Canvas& c, Rng& rng, const Rgb& a, const Rgb& b) {
  const double ang = rng.uniform(0, 6.283185307179586);
  const float dx = static_cast<float>(std::cos(ang)), dy = static_cast<float>(std::sin(ang));
  const float norm = std::fabs(dx) * c.w + std::fabs(dy) * c.h + 1e-3f;
  for (int y = 0; y < c.h; ++y)
    for (int x = 0; x < c.w; ++x) {
      float t = ((x - c.w * 0.5f) * dx + (y - c.h * 0.5f) * dy) / norm + 0.5f;
      float* p = c.at(y, x);
      for (int k = 0; k < 3; ++k) p[k] = a[k] + (b[k] - a[k]) * t;
    }
}

// Plaster/stone: two colours mixed by multi-octave value noise.
void fill_noise_texture(Canvas& c, Rng& rng, const Rgb& a, const Rgb& b) {
  const float aspect = static_cast<float>(c.w) / c.h;
  ValueNoise n1(rng, std::max(2, static_cast<int>(3 * aspect))), n2(rng, std::max(4, static_cast<int>(11 * aspect)));
  const float fine = static_cast<float>(rng.uniform(8, 30));
  for (int y = 0; y < c.h; ++y)
    for (int x = 0; x < c.w; ++x) {
      const float u = static_cast<float>(x) / std::max(1, c.w - 1), v = static_cast<float>(y) / std::max(1, c.h - 1);
      const float t = 0.65f * n1.at(u, v) + 0.35f * n2.at(u, v);
      float* p = c.at(y, x);
      const float grain = static_cast<float>(rng.uniform(-fine, fine));
      for (int k = 0; k < 3; ++k) p[k] = a[k] + (b[k] - a[k]) * t + grain;
    }
}

// Siding / wood: horizontal (or vertical) stripes with dark seams.
void fill_stripes(Canvas& c, Rng& rng, const Rgb& a) {
  const bool vertical = rng.uniform() < 0.3;
  const float period = static_cast<float>(rng.uniform(6, 40));
  const float seam = static_cast<float>(rng.uniform(0.5, 0.8));
  for (int y = 0; y < c.h; ++y)
    for (int x = 0; x < c.w; ++x) {
      const float s = std::fmod(static_cast<float>(vertical ? x : y), period) / period;
      const float shade = s < 0.08f ? seam : 1.0f - 0.1f * s;
      float* p = c.at(y, x);
      for (int k = 0; k < 3; ++k) p[k] = a[k] * shade;
    }
}

void fill_bricks(Canvas& c, Rng& rng, const Rgb& brick, const Rgb& mortar) {
  const int bh = static_cast<int>(rng.uniform(6, 24)), bw = static_cast<int>(bh * rng.uniform(2.0, 3.5));
  const int m = std::max(1, bh / 8);
  for (int y = 0; y < c.h; ++y) {
    const int row = y / bh, off = (row % 2) * bw / 2;
    for (int x = 0; x < c.w; ++x) {
      const bool is_mortar = y % bh < m || (x + off) % bw < m;
      float* p = c.at(y, x);
      const Rgb& col = is_mortar ? mortar : brick;
      for (int k = 0; k < 3; ++k) p[k] = col[k];
    }
  }
}

void fill_rect(Canvas& c, int x0, int y0, int x1, int y1, const Rgb& col, float a) {
  for (int y = std::max(0, y0); y < std::min(c.h, y1); ++y)
    for (int x = std::max(0, x0); x < std::min(c.w, x1); ++x) c.blend(y, x, col, a);
}

}  // namespace

Rgb draw_background(Canvas& c, Rng& rng) {
  const Rgb a = random_colour(rng);
  Rgb b = a;
  for (auto& v : b) v = std::clamp(v + static_cast<float>(rng.uniform(-60, 60)), 0.f, 255.f);
  const double kind = rng.uniform();
  if (kind < 0.25) fill_plain(c, a);
  else if (kind < 0.50) fill_gradient(c, rng, a, b);
  else if (kind < 0.75) fill_noise_texture(c, rng, a, b);
  else if (kind < 0.88) fill_stripes(c, rng, a);
  else fill_bricks(c, rng, a, b);
  return a;
}

void draw_clutter(Canvas& c, Rng& rng, const std::array<float, 4>& avoid) {
  const int n = static_cast<int>(rng.randint(4));
  for (int i = 0; i < n; ++i) {
    const Rgb col = random_colour(rng);
    const float alpha = static_cast<float>(rng.uniform(0.3, 1.0));
    const double kind = rng.uniform();
    if (kind < 0.4) {
      // A plaque frame around the text block, a few px outside it.
      const int pad = 2 + static_cast<int>(rng.randint(6)), t = 1 + static_cast<int>(rng.randint(3));
      const int x0 = static_cast<int>(avoid[0]) - pad - t, y0 = static_cast<int>(avoid[1]) - pad - t;
      const int x1 = static_cast<int>(avoid[2]) + pad + t, y1 = static_cast<int>(avoid[3]) + pad + t;
      fill_rect(c, x0, y0, x1, y0 + t, col, alpha);
      fill_rect(c, x0, y1 - t, x1, y1, col, alpha);
      fill_rect(c, x0, y0, x0 + t, y1, col, alpha);
      fill_rect(c, x1 - t, y0, x1, y1, col, alpha);
    } else {
      // A bar or blob somewhere that does not cross the digits.
      for (int tries = 0; tries < 5; ++tries) {
        const int w = 2 + static_cast<int>(rng.randint(std::max(1, c.w / 2)));
        const int h = 2 + static_cast<int>(rng.randint(std::max(1, c.h / 3)));
        const int x0 = static_cast<int>(rng.randint(c.w)), y0 = static_cast<int>(rng.randint(c.h));
        const bool crosses = x0 < avoid[2] + 2 && x0 + w > avoid[0] - 2 && y0 < avoid[3] + 2 &&
                             y0 + h > avoid[1] - 2;
        if (crosses) continue;
        fill_rect(c, x0, y0, x0 + w, y0 + h, col, alpha);
        break;
      }
    }
  }
}

}  // namespace dr::data
