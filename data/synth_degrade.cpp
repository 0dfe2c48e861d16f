// Camera-like degradation of a finished synthetic image: defocus blur, resolution loss
// (down- then up-sampling), uneven lighting, sensor noise, and JPEG-like compression
// (8x8 DCT blocks with frequency-dependent quantization, 2x2 chroma averaging).
#include <algorithm>
#include <cmath>

#include "data/synth_canvas.h"

namespace dr::data {

namespace {

void blur(Canvas& c, float sigma) {
  const int half = std::max(1, static_cast<int>(std::ceil(2.5f * sigma)));
  std::vector<float> k(2 * half + 1);
  float sum = 0;
  for (int i = -half; i <= half; ++i) sum += k[i + half] = std::exp(-0.5f * i * i / (sigma * sigma));
  for (auto& v : k) v /= sum;
  std::vector<float> tmp(c.px.size());
  for (int y = 0; y < c.h; ++y)
    for (int x = 0; x < c.w; ++x)
      for (int ch = 0; ch < 3; ++ch) {
        float s = 0;
        for (int i = -half; i <= half; ++i) s += k[i + half] * c.at(y, std::clamp(x + i, 0, c.w - 1))[ch];
        tmp[(static_cast<size_t>(y) * c.w + x) * 3 + ch] = s;
      }
  for (int y = 0; y < c.h; ++y)
    for (int x = 0; x < c.w; ++x)
      for (int ch = 0; ch < 3; ++ch) {
        float s = 0;
        for (int i = -half; i <= half; ++i)
          s += k[i + half] * tmp[(static_cast<size_t>(std::clamp(y + i, 0, c.h - 1)) * c.w + x) * 3 + ch];
        c.at(y, x)[ch] = s;
      }
}

// Bilinear sample of c at continuous index coordinates (clamped).
void sample(Canvas& c, float fx, float fy, float* out) {
  fx = std::clamp(fx, 0.f, c.w - 1.f), fy = std::clamp(fy, 0.f, c.h - 1.f);
  const int x0 = static_cast<int>(fx), y0 = static_cast<int>(fy);
  const int x1 = std::min(x0 + 1, c.w - 1), y1 = std::min(y0 + 1, c.h - 1);
  const float wx = fx - x0, wy = fy - y0;
  for (int k = 0; k < 3; ++k)
    out[k] = (c.at(y0, x0)[k] * (1 - wx) + c.at(y0, x1)[k] * wx) * (1 - wy) +
             (c.at(y1, x0)[k] * (1 - wx) + c.at(y1, x1)[k] * wx) * wy;
}

void resolution_loss(Canvas& c, float factor) {
  const int sw = std::max(4, static_cast<int>(c.w * factor)), sh = std::max(4, static_cast<int>(c.h * factor));
  Canvas small(sh, sw);
  for (int y = 0; y < sh; ++y)
    for (int x = 0; x < sw; ++x)
      sample(c, (x + 0.5f) * c.w / sw - 0.5f, (y + 0.5f) * c.h / sh - 0.5f, small.at(y, x));
  for (int y = 0; y < c.h; ++y)
    for (int x = 0; x < c.w; ++x)
      sample(small, (x + 0.5f) * sw / c.w - 0.5f, (y + 0.5f) * sh / c.h - 0.5f, c.at(y, x));
}

void lighting(Canvas& c, Rng& rng) {
  const float gain_a = static_cast<float>(rng.uniform(0.6, 1.2)), gain_b = static_cast<float>(rng.uniform(0.6, 1.2));
  const double ang = rng.uniform(0, 6.283185307179586);
  const float dx = static_cast<float>(std::cos(ang)), dy = static_cast<float>(std::sin(ang));
  const float norm = std::fabs(dx) * c.w + std::fabs(dy) * c.h + 1e-3f;
  for (int y = 0; y < c.h; ++y)
    for (int x = 0; x < c.w; ++x) {
      const float t = ((x - c.w * 0.5f) * dx + (y - c.h * 0.5f) * dy) / norm + 0.5f;
      const float g = gain_a + (gain_b - gain_a) * t;
      float* p = c.at(y, x);
      for (int k = 0; k < 3; ++k) p[k] *= g;
    }
}

void noise(Canvas& c, Rng& rng, float sigma) {
  for (auto& v : c.px) v += static_cast<float>(rng.normal(0.0, sigma));
}

// JPEG-like: YCbCr, chroma averaged over 2x2, luma quantized in 8x8 DCT blocks.
void jpeg_like(Canvas& c, float quality_step) {
  const size_t n = static_cast<size_t>(c.h) * c.w;
  std::vector<float> Y(n), Cb(n), Cr(n);
  for (size_t i = 0; i < n; ++i) {
    const float r = c.px[3 * i], g = c.px[3 * i + 1], b = c.px[3 * i + 2];
    Y[i] = 0.299f * r + 0.587f * g + 0.114f * b;
    Cb[i] = -0.168736f * r - 0.331264f * g + 0.5f * b;
    Cr[i] = 0.5f * r - 0.418688f * g - 0.081312f * b;
  }
  for (std::vector<float>* ch : {&Cb, &Cr})
    for (int y = 0; y < c.h; y += 2)
      for (int x = 0; x < c.w; x += 2) {
        float s = 0;
        int cnt = 0;
        for (int dy = 0; dy < 2 && y + dy < c.h; ++dy)
          for (int dx = 0; dx < 2 && x + dx < c.w; ++dx, ++cnt) s += (*ch)[(y + dy) * c.w + x + dx];
        for (int dy = 0; dy < 2 && y + dy < c.h; ++dy)
          for (int dx = 0; dx < 2 && x + dx < c.w; ++dx) (*ch)[(y + dy) * c.w + x + dx] = s / cnt;
      }
  float cosv[8][8];
  for (int u = 0; u < 8; ++u)
    for (int x = 0; x < 8; ++x)
      cosv[u][x] = std::cos((2 * x + 1) * u * 3.14159265f / 16) * (u == 0 ? std::sqrt(0.125f) : 0.5f);
  for (int by = 0; by < c.h; by += 8)
    for (int bx = 0; bx < c.w; bx += 8) {
      float blk[8][8], coef[8][8], tmp[8][8];
      for (int y = 0; y < 8; ++y)  // edge blocks replicate the border
        for (int x = 0; x < 8; ++x)
          blk[y][x] = Y[std::min(by + y, c.h - 1) * c.w + std::min(bx + x, c.w - 1)] - 128;
      for (int y = 0; y < 8; ++y)
        for (int u = 0; u < 8; ++u) {
          float s = 0;
          for (int x = 0; x < 8; ++x) s += cosv[u][x] * blk[y][x];
          tmp[y][u] = s;
        }
      for (int v = 0; v < 8; ++v)
        for (int u = 0; u < 8; ++u) {
          float s = 0;
          for (int y = 0; y < 8; ++y) s += cosv[v][y] * tmp[y][u];
          const float q = quality_step * (1.0f + 0.6f * (u + v));
          coef[v][u] = std::round(s / q) * q;
        }
      for (int v = 0; v < 8; ++v)
        for (int x = 0; x < 8; ++x) {
          float s = 0;
          for (int u = 0; u < 8; ++u) s += cosv[u][x] * coef[v][u];
          tmp[v][x] = s;
        }
      for (int y = 0; y < 8 && by + y < c.h; ++y)
        for (int x = 0; x < 8 && bx + x < c.w; ++x) {
          float s = 0;
          for (int v = 0; v < 8; ++v) s += cosv[v][y] * tmp[v][x];
          Y[(by + y) * c.w + bx + x] = s + 128;
        }
    }
  for (size_t i = 0; i < n; ++i) {
    c.px[3 * i] = Y[i] + 1.402f * Cr[i];
    c.px[3 * i + 1] = Y[i] - 0.344136f * Cb[i] - 0.714136f * Cr[i];
    c.px[3 * i + 2] = Y[i] + 1.772f * Cb[i];
  }
}

}  // namespace

void degrade(Canvas& c, Rng& rng) {
  if (rng.uniform() < 0.4) blur(c, static_cast<float>(rng.uniform(0.4, 1.3)));
  if (rng.uniform() < 0.3) resolution_loss(c, static_cast<float>(rng.uniform(0.45, 0.85)));
  if (rng.uniform() < 0.3) lighting(c, rng);
  if (rng.uniform() < 0.7) noise(c, rng, static_cast<float>(rng.uniform(1.0, 9.0)));
  if (rng.uniform() < 0.4) jpeg_like(c, static_cast<float>(rng.uniform(3.0, 14.0)));
}

}  // namespace dr::data
