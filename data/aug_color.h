// Colour operations with torchvision's definitions (transforms/functional_tensor.py,
// uint8 path): float32 arithmetic, clamp to [0, 255], truncation back to uint8 (except
// the blurs, which round like torchvision's _cast_squeeze_out). They change pixels only.
#pragma once
#include "data/augment.h"

namespace dr::data {

// ---- the functions (deterministic, in place) ----
uint8_t gray_u8(const uint8_t* rgb);  // (uint8)(0.2989 r + 0.587 g + 0.114 b)
void adjust_brightness(Image& img, float factor);
void adjust_contrast(Image& img, float factor);    // blends with the mean grey level
void adjust_saturation(Image& img, float factor);  // blends with the per-pixel grey
void adjust_hue(Image& img, float hue_factor);     // hue_factor in [-0.5, 0.5]
void adjust_sharpness(Image& img, float factor);   // blends with the 3x3 [1 1 1;1 5 1;1 1 1]/13 blur
void to_grayscale(Image& img);                     // three equal channels
void autocontrast(Image& img);                     // per channel min..max -> 0..255
void equalize(Image& img);                         // per channel histogram equalization
void solarize(Image& img, float threshold);        // v >= threshold -> 255 - v
void invert(Image& img);
void gaussian_blur(Image& img, int kernel_size, float sigma);  // reflect padding

// ---- random ops ----
// torchvision.transforms.ColorJitter: factors uniform in [max(0, 1-b), 1+b] (hue in
// [-h, h]) and the four adjustments in a random order.
class ColorJitter : public Augment {
 public:
  float brightness = 0.2f, contrast = 0.2f, saturation = 0.2f, hue = 0.05f, p = 1.0f;
  std::string name() const override;
  void apply(Image& img, std::vector<Box>& boxes, Rng& rng) const override;
};

class RandomGrayscale : public Augment {
 public:
  float p = 0.1f;
  std::string name() const override;
  void apply(Image& img, std::vector<Box>& boxes, Rng& rng) const override;
};

// Sharpness factor uniform in [lo, hi] (1 = unchanged, 0 = blurred, 2 = sharpened).
class RandomSharpness : public Augment {
 public:
  float lo = 0.5f, hi = 2.0f, p = 0.3f;
  std::string name() const override;
  void apply(Image& img, std::vector<Box>& boxes, Rng& rng) const override;
};

class RandomAutocontrast : public Augment {
 public:
  float p = 0.2f;
  std::string name() const override;
  void apply(Image& img, std::vector<Box>& boxes, Rng& rng) const override;
};

class RandomEqualize : public Augment {
 public:
  float p = 0.1f;
  std::string name() const override;
  void apply(Image& img, std::vector<Box>& boxes, Rng& rng) const override;
};

// torchvision.transforms.GaussianBlur: sigma uniform in [sigma_lo, sigma_hi]; the kernel
// size is the largest odd size <= max_kernel that is also <= 2*ceil(3 sigma)+1, so tiny
// digits are not smeared by a kernel bigger than the blur needs.
class RandomGaussianBlur : public Augment {
 public:
  int max_kernel = 5;
  float sigma_lo = 0.1f, sigma_hi = 1.2f, p = 0.2f;
  std::string name() const override;
  void apply(Image& img, std::vector<Box>& boxes, Rng& rng) const override;
};

}  // namespace dr::data
