// Degradations from the second seed design: fog, motion blur, channel dropout and coarse
// dropout (cutout). All but coarse dropout are purely photometric. Coarse dropout leaves
// boxes where they are but never hides too much of one: a hole that would leave any box
// with less than min_visibility of its area visible is re-drawn (a few tries), then
// skipped, so every label stays readable.
#pragma once
#include "data/augment.h"

namespace dr::data {

// Blends towards a light grey with a smooth random density (2-octave value noise).
class Fog : public Augment {
 public:
  float intensity_lo = 0.15f, intensity_hi = 0.5f, p = 0.1f;
  std::string name() const override;
  void apply(Image& img, std::vector<Box>& boxes, Rng& rng) const override;
};

// Averages along a random line of odd length in [3, max_length] at a random angle.
class MotionBlur : public Augment {
 public:
  int max_length = 7;
  float p = 0.1f;
  std::string name() const override;
  void apply(Image& img, std::vector<Box>& boxes, Rng& rng) const override;
};
// The deterministic core: a normalized line kernel, clamp-to-edge convolution.
void motion_blur(Image& img, int length, double angle_deg);

// Sets one random channel to `fill`.
class ChannelDropout : public Augment {
 public:
  uint8_t fill = 0;
  float p = 0.05f;
  std::string name() const override;
  void apply(Image& img, std::vector<Box>& boxes, Rng& rng) const override;
};

// Cutout: 1..max_holes rectangles of size frac_lo..frac_hi of (W, H), filled with a
// random grey level.
class CoarseDropout : public Augment {
 public:
  int max_holes = 3;
  float frac_lo = 0.05f, frac_hi = 0.2f;
  float min_visibility = 0.7f;
  int tries = 10;
  float p = 0.2f;
  std::string name() const override;
  bool geometric() const override { return false; }  // boxes stay; their visibility is kept
  void apply(Image& img, std::vector<Box>& boxes, Rng& rng) const override;
};
// Fraction of b's pixels not covered by `covered` (H*W mask, 1 = hidden).
float box_visibility(const Box& b, const std::vector<uint8_t>& covered, int h, int w);

}  // namespace dr::data
