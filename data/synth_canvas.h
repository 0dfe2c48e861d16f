// Canvas: the synthetic generator's float RGB working image, (H, W, 3) in 0..255, so
// layers blend without rounding; quantized to an Image once at the end.
#pragma once
#include <array>
#include <vector>

#include "data/image.h"
#include "nn/rng.h"

namespace dr::data {

using Rgb = std::array<float, 3>;

struct Canvas {
  int h = 0, w = 0;
  std::vector<float> px;  // (H, W, 3)
  Canvas(int height, int width) : h(height), w(width), px(static_cast<size_t>(height) * width * 3, 0.f) {}
  float* at(int y, int x) { return &px[(static_cast<size_t>(y) * w + x) * 3]; }
  // out = out * (1 - a) + c * a
  void blend(int y, int x, const Rgb& c, float a) {
    float* p = at(y, x);
    for (int k = 0; k < 3; ++k) p[k] += (c[k] - p[k]) * a;
  }
  Image to_image() const;
};

float luminance(const Rgb& c);
Rgb random_colour(Rng& rng);
// A colour whose luminance differs from `bg` by at least min_contrast (0..255).
Rgb contrasting_colour(Rng& rng, const Rgb& bg, float min_contrast);

// Smooth value noise in [0, 1] on a (cells+1)^2 grid, sampled at (x, y) in [0, 1]^2.
struct ValueNoise {
  int cells;
  std::vector<float> grid;
  ValueNoise(Rng& rng, int cells);
  float at(float x, float y) const;
};

// Backgrounds (synth_background.cpp): the kind is drawn from `rng`. Returns the
// dominant colour (what digits must contrast with).
Rgb draw_background(Canvas& c, Rng& rng);
// Unlabelled clutter: plaque frames, lines, blobs; `avoid` is the text block's box
// (x1, y1, x2, y2) that clutter must not cross.
void draw_clutter(Canvas& c, Rng& rng, const std::array<float, 4>& avoid);

// Degradation (synth_degrade.cpp): blur, resolution loss, lighting, noise and
// JPEG-like 8x8 block quantization, each with its own probability.
void degrade(Canvas& c, Rng& rng);

}  // namespace dr::data
