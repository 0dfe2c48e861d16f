#include "data/aug_geometry.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace dr::data {

namespace {
constexpr double kDegToRad = 3.14159265358979323846 / 180.0;
}

Affine affine_inverse(const Affine& a) {
  const double det = a[0] * a[4] - a[1] * a[3];
  DR_CHECK(std::fabs(det) > 1e-12, "affine: singular matrix");
  const double i0 = a[4] / det, i1 = -a[1] / det, i3 = -a[3] / det, i4 = a[0] / det;
  return {i0, i1, -(i0 * a[2] + i1 * a[5]), i3, i4, -(i3 * a[2] + i4 * a[5])};
}

Affine make_affine(double cx, double cy, double angle, double tx, double ty, double scale,
                   double shear_x, double shear_y) {
  // RSS = R * Shear * Scale as in torchvision's _get_inverse_affine_matrix (its inverse).
  const double rot = angle * kDegToRad, sx = shear_x * kDegToRad, sy = shear_y * kDegToRad;
  const double a = std::cos(rot - sy) / std::cos(sy);
  const double b = -std::cos(rot - sy) * std::tan(sx) / std::cos(sy) - std::sin(rot);
  const double c = std::sin(rot - sy) / std::cos(sy);
  const double d = -std::sin(rot - sy) * std::tan(sx) / std::cos(sy) + std::cos(rot);
  const double m0 = a * scale, m1 = b * scale, m3 = c * scale, m4 = d * scale;
  // x' = M (x - c) + c + t
  return {m0, m1, cx + tx - (m0 * cx + m1 * cy), m3, m4, cy + ty - (m3 * cx + m4 * cy)};
}

void warp_affine(Image& img, std::vector<Box>& boxes, const Affine& a, bool fill_edge,
                 uint8_t fill, float min_box_size, float min_visible) {
  const Affine inv = affine_inverse(a);
  Image out(img.h, img.w);
  const int W = img.w, H = img.h;
  for (int y = 0; y < H; ++y) {
    // Output pixel centre (x + 0.5, y + 0.5) -> source continuous point -> index space;
    // along a row the source point moves by (inv[0], inv[3]) per pixel.
    const double py = y + 0.5;
    const double row_x = inv[1] * py + inv[2] - 0.5 + 0.5 * inv[0];
    const double row_y = inv[4] * py + inv[5] - 0.5 + 0.5 * inv[3];
    for (int x = 0; x < W; ++x) {
      const double sx = row_x + inv[0] * x, sy = row_y + inv[3] * x;
      const double fx = std::floor(sx), fy = std::floor(sy);
      const float wx = static_cast<float>(sx - fx), wy = static_cast<float>(sy - fy);
      const int x0 = static_cast<int>(fx), y0 = static_cast<int>(fy);
      uint8_t* o = out.at(y, x);
      float acc[3];
      if (x0 >= 0 && y0 >= 0 && x0 + 1 < W && y0 + 1 < H) {
        // All four taps inside: the common case, without per-tap tests.
        const uint8_t *s00 = img.at(y0, x0), *s10 = s00 + 3, *s01 = img.at(y0 + 1, x0), *s11 = s01 + 3;
        const float w00 = (1 - wx) * (1 - wy), w10 = wx * (1 - wy), w01 = (1 - wx) * wy, w11 = wx * wy;
        for (int k = 0; k < 3; ++k) acc[k] = w00 * s00[k] + w10 * s10[k] + w01 * s01[k] + w11 * s11[k];
      } else if (!fill_edge && (x0 < -1 || y0 < -1 || x0 >= W || y0 >= H)) {
        o[0] = o[1] = o[2] = fill;
        continue;
      } else {
        acc[0] = acc[1] = acc[2] = 0;
        for (int j = 0; j < 2; ++j)
          for (int i = 0; i < 2; ++i) {
            const float w = (i ? wx : 1 - wx) * (j ? wy : 1 - wy);
            int xx = x0 + i, yy = y0 + j;
            if (fill_edge) {
              xx = std::clamp(xx, 0, W - 1);
              yy = std::clamp(yy, 0, H - 1);
            } else if (xx < 0 || yy < 0 || xx >= W || yy >= H) {
              for (int k = 0; k < 3; ++k) acc[k] += w * fill;
              continue;
            }
            const uint8_t* s = img.at(yy, xx);
            for (int k = 0; k < 3; ++k) acc[k] += w * s[k];
          }
      }
      // acc is a convex combination of 0..255 values: round half up.
      for (int k = 0; k < 3; ++k) o[k] = static_cast<uint8_t>(std::min(acc[k] + 0.5f, 255.0f));
    }
  }
  img = std::move(out);

  std::vector<Box> kept;
  for (Box b : boxes) {
    const double xs[4] = {b.x1, b.x2, b.x1, b.x2}, ys[4] = {b.y1, b.y1, b.y2, b.y2};
    double lx = 1e30, ly = 1e30, hx = -1e30, hy = -1e30;
    for (int k = 0; k < 4; ++k) {
      const double X = a[0] * xs[k] + a[1] * ys[k] + a[2], Y = a[3] * xs[k] + a[4] * ys[k] + a[5];
      lx = std::min(lx, X), hx = std::max(hx, X), ly = std::min(ly, Y), hy = std::max(hy, Y);
    }
    Box m = b;
    m.x1 = static_cast<float>(lx), m.y1 = static_cast<float>(ly);
    m.x2 = static_cast<float>(hx), m.y2 = static_cast<float>(hy);
    const float full = m.area();
    if (!clip_box(m, static_cast<float>(W), static_cast<float>(H), min_box_size)) continue;
    if (full > 0 && m.area() < min_visible * full) continue;
    kept.push_back(m);
  }
  boxes = std::move(kept);
}

std::string HorizontalFlip::name() const { return "HorizontalFlip(p=" + std::to_string(p) + ")"; }

void HorizontalFlip::apply(Image& img, std::vector<Box>& boxes, Rng& rng) const {
  if (rng.uniform() >= p) return;
  for (int y = 0; y < img.h; ++y)
    for (int x = 0; x < img.w / 2; ++x) {
      uint8_t *l = img.at(y, x), *r = img.at(y, img.w - 1 - x);
      for (int k = 0; k < 3; ++k) std::swap(l[k], r[k]);
    }
  for (Box& b : boxes) {
    const float x1 = img.w - b.x2, x2 = img.w - b.x1;
    b.x1 = x1;
    b.x2 = x2;
  }
}

std::string RandomAffine::name() const {
  std::ostringstream os;
  os << "RandomAffine(deg=" << degrees << ", translate=" << translate << ", shear=(" << shear_x
     << "," << shear_y << "), scale=" << scale_lo << ".." << scale_hi << ", p=" << p << ")";
  return os.str();
}

void RandomAffine::apply(Image& img, std::vector<Box>& boxes, Rng& rng) const {
  if (rng.uniform() >= p) return;
  const double angle = rng.uniform(-degrees, degrees);
  // torchvision: tx = round(uniform(-max_dx, max_dx)) with max_dx = translate * W.
  const double tx = std::round(rng.uniform(-translate * img.w, translate * img.w));
  const double ty = std::round(rng.uniform(-translate * img.h, translate * img.h));
  const double scale = rng.uniform(scale_lo, scale_hi);
  const double shx = rng.uniform(-shear_x, shear_x), shy = rng.uniform(-shear_y, shear_y);
  const Affine a = make_affine(img.w * 0.5, img.h * 0.5, angle, tx, ty, scale, shx, shy);
  warp_affine(img, boxes, a, fill_edge, fill, min_box_size, min_visible);
}

std::string FixedResize::name() const {
  return "FixedResize(" + std::to_string(height) + "x" + std::to_string(width) + ")";
}

void FixedResize::apply(Image& img, std::vector<Box>& boxes, Rng&) const {
  const float sx = static_cast<float>(width) / img.w, sy = static_cast<float>(height) / img.h;
  img = resize_bilinear(img, height, width);
  for (Box& b : boxes) {
    b.x1 *= sx, b.x2 *= sx, b.y1 *= sy, b.y2 *= sy;
  }
}

void map_boxes_to_original(std::vector<Box>& boxes, int cur_h, int cur_w, int orig_h, int orig_w) {
  const float sx = static_cast<float>(orig_w) / cur_w, sy = static_cast<float>(orig_h) / cur_h;
  for (Box& b : boxes) {
    b.x1 *= sx, b.x2 *= sx, b.y1 *= sy, b.y2 *= sy;
  }
}

}  // namespace dr::data
