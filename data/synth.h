// Synthetic house numbers: SVHN-like images of 1-5 digits rendered with stb_truetype
// from Debian's fonts, on varied backgrounds, with geometry (rotation, slant,
// perspective) and camera-like degradation. Boxes are tight around each glyph's ink,
// where ink means the digit's anti-aliased coverage >= 0.5 after the geometric warp
// (before blur/noise/compression, which only soften edges).
// Deterministic: image `id` of a run with seed S depends only on (S, id).
#pragma once
#include <array>
#include <memory>
#include <string>
#include <vector>

#include "data/box.h"
#include "data/fonts.h"

namespace dr::data {

struct SynthOptions {
  int min_digits = 1, max_digits = 5;
  float min_digit_px = 8, max_digit_px = 200;  // digit ink height
  float min_spacing = -0.04f, max_spacing = 0.35f;  // gap between glyphs, x digit height
  float min_contrast = 35;   // luminance difference digit vs background (0..255)
  bool textured = true;      // gradients, noise textures, stripes, bricks (else plain)
  bool clutter = true;       // frames, bars, blobs
  bool neighbours = true;    // cut-off unlabelled digits at the left/right edge
  bool geometry = true;      // rotation, slant, perspective
  bool degrade = true;       // blur, resolution loss, lighting, noise, JPEG-like
};

// One labelled digit's coverage in image pixels: coverage[(y - y0) * w + (x - x0)].
struct DigitInk {
  int digit = 0, x0 = 0, y0 = 0, w = 0, h = 0;
  std::vector<float> coverage;  // 0..1
};

struct SynthImage {
  Image image;
  std::vector<Box> boxes;      // label = digit + 1 (COCO category_id)
  std::vector<DigitInk> ink;   // same order as boxes
  std::array<float, 3> digit_colour{};  // before degradation (tests check ink against it)
};

class SynthGenerator {
 public:
  // Uses every font found in `font_dirs` (default_font_dirs() when empty).
  explicit SynthGenerator(SynthOptions opt = {}, const std::vector<std::string>& font_dirs = {});
  SynthImage render(uint64_t seed) const;
  size_t num_fonts() const { return fonts_.size(); }
  const SynthOptions& options() const { return opt_; }

 private:
  SynthOptions opt_;
  std::vector<std::unique_ptr<Font>> fonts_;
};

uint64_t synth_image_seed(uint64_t seed, int64_t image_id);

// Writes root/<split>/<id>.png for ids first_id .. first_id+count-1 and root/<split>.json
// (the target COCO layout), with `threads` workers and a progress bar when `progress`.
void write_synth_split(const SynthGenerator& gen, const std::string& root, const std::string& split,
                       int64_t count, uint64_t seed, int64_t first_id, int threads, bool progress);

}  // namespace dr::data
