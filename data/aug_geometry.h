// Geometric augmentations: the pixels move, and every box moves with them. A box's four
// corners are mapped and their enclosing rectangle taken (for a rotated rectangle of
// ink this is exactly the new ink's bounding box), then clipped to the image; boxes
// that end up degenerate (under min_box_size px, or with less than min_visible of their
// mapped area inside the image) are dropped.
#pragma once
#include <array>

#include "data/augment.h"

namespace dr::data {

// 2x3 affine matrix in continuous pixel coordinates: (x', y') = A (x, y, 1).
using Affine = std::array<double, 6>;
Affine affine_inverse(const Affine& a);
// torchvision's RandomAffine composition, about the image centre: translate * rotate *
// shear * scale (angles in degrees, see transforms/functional.py _get_inverse_affine_matrix).
Affine make_affine(double cx, double cy, double angle, double tx, double ty, double scale,
                   double shear_x, double shear_y);
// Warps img by `a` (bilinear); outside pixels are `fill`, or the nearest edge when
// fill_edge. Maps, clips and filters the boxes as described above.
void warp_affine(Image& img, std::vector<Box>& boxes, const Affine& a, bool fill_edge,
                 uint8_t fill, float min_box_size, float min_visible);

// Horizontal flip. Not in any preset: a mirrored digit is not a digit (2, 3, 4, 5, 7, 9
// become shapes that never occur), so it would teach the detector wrong classes.
class HorizontalFlip : public Augment {
 public:
  float p = 0.5f;
  std::string name() const override;
  bool geometric() const override { return true; }
  void apply(Image& img, std::vector<Box>& boxes, Rng& rng) const override;
};

// torchvision.transforms.RandomAffine-like: angle uniform in [-degrees, degrees],
// translation uniform in +-translate * (W, H) rounded to whole pixels, shear x and y
// uniform in +-shear_x / +-shear_y degrees, scale uniform in [scale_lo, scale_hi].
class RandomAffine : public Augment {
 public:
  float degrees = 10.0f, translate = 0.1f, shear_x = 2.0f, shear_y = 2.0f;
  float scale_lo = 1.0f, scale_hi = 1.0f;
  bool fill_edge = true;  // replicate the border: a black wedge would be a fake edge
  uint8_t fill = 0;
  float min_box_size = 2.0f, min_visible = 0.5f;
  float p = 1.0f;
  std::string name() const override;
  bool geometric() const override { return true; }
  void apply(Image& img, std::vector<Box>& boxes, Rng& rng) const override;
};

// Resize to a fixed (height, width), e.g. 256x256; boxes scale with it. Predictions on
// the resized image go back to the original with map_boxes_to_original().
class FixedResize : public Augment {
 public:
  int height = 256, width = 256;
  FixedResize(int h, int w) : height(h), width(w) {}
  std::string name() const override;
  bool geometric() const override { return true; }
  void apply(Image& img, std::vector<Box>& boxes, Rng& rng) const override;
};
// Scales boxes given on a (cur_h, cur_w) image back to (orig_h, orig_w).
void map_boxes_to_original(std::vector<Box>& boxes, int cur_h, int cur_w, int orig_h, int orig_w);

}  // namespace dr::data
