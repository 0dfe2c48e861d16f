// The synthetic house-number renderer: layout of glyphs in "text space", one
// homography from text space to the image (rotation, slant, perspective), background,
// clutter, cut-off neighbour digits, the digits themselves, then degradation.
#include "data/synth.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "data/synth_canvas.h"

namespace dr::data {

namespace {

using Mat3 = std::array<double, 9>;

Mat3 mul(const Mat3& a, const Mat3& b) {
  Mat3 c{};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 3; ++k) c[3 * i + j] += a[3 * i + k] * b[3 * k + j];
  return c;
}

Mat3 inverse(const Mat3& m) {
  const double a = m[0], b = m[1], c = m[2], d = m[3], e = m[4], f = m[5], g = m[6], h = m[7], i = m[8];
  const double A = e * i - f * h, B = -(d * i - f * g), C = d * h - e * g;
  const double det = a * A + b * B + c * C;
  DR_CHECK(std::fabs(det) > 1e-15, "synth: singular homography");
  return {A / det, -(b * i - c * h) / det, (b * f - c * e) / det,
          B / det, (a * i - c * g) / det,  -(a * f - c * d) / det,
          C / det, -(a * h - b * g) / det, (a * e - b * d) / det};
}

std::array<double, 2> apply(const Mat3& m, double x, double y) {
  const double w = m[6] * x + m[7] * y + m[8];
  return {(m[0] * x + m[1] * y + m[2]) / w, (m[3] * x + m[4] * y + m[5]) / w};
}

Mat3 translate(double tx, double ty) { return {1, 0, tx, 0, 1, ty, 0, 0, 1}; }

// A glyph placed in text space: its bitmap's pixel (0, 0) covers [gx, gx+1) x [gy, gy+1).
struct Placed {
  int digit;
  GlyphBitmap g;
  double gx, gy;
};

float sample_alpha(const GlyphBitmap& g, double u, double v) {
  // (u, v) in bitmap index space (pixel centres at integers).
  const double fu = std::floor(u), fv = std::floor(v);
  const int x0 = static_cast<int>(fu), y0 = static_cast<int>(fv);
  const float wx = static_cast<float>(u - fu), wy = static_cast<float>(v - fv);
  auto at = [&](int x, int y) -> float {
    return (x < 0 || y < 0 || x >= g.w || y >= g.h) ? 0.f : g.alpha[y * g.w + x] * (1.f / 255.f);
  };
  return (at(x0, y0) * (1 - wx) + at(x0 + 1, y0) * wx) * (1 - wy) +
         (at(x0, y0 + 1) * (1 - wx) + at(x0 + 1, y0 + 1) * wx) * wy;
}

// Warps one glyph into image space: its coverage patch (clipped to the canvas).
DigitInk warp_glyph(const Placed& p, const Mat3& H, const Mat3& Hinv, int W, int Hh) {
  DigitInk ink;
  ink.digit = p.digit;
  double lx = 1e30, ly = 1e30, hx = -1e30, hy = -1e30;
  for (int k = 0; k < 4; ++k) {
    auto q = apply(H, p.gx + (k & 1 ? p.g.w : 0), p.gy + (k & 2 ? p.g.h : 0));
    lx = std::min(lx, q[0]), hx = std::max(hx, q[0]), ly = std::min(ly, q[1]), hy = std::max(hy, q[1]);
  }
  ink.x0 = std::max(0, static_cast<int>(std::floor(lx)) - 1);
  ink.y0 = std::max(0, static_cast<int>(std::floor(ly)) - 1);
  const int x1 = std::min(W, static_cast<int>(std::ceil(hx)) + 1);
  const int y1 = std::min(Hh, static_cast<int>(std::ceil(hy)) + 1);
  ink.w = std::max(0, x1 - ink.x0);
  ink.h = std::max(0, y1 - ink.y0);
  ink.coverage.assign(static_cast<size_t>(ink.w) * ink.h, 0.f);
  for (int y = 0; y < ink.h; ++y)
    for (int x = 0; x < ink.w; ++x) {
      auto t = apply(Hinv, ink.x0 + x + 0.5, ink.y0 + y + 0.5);
      ink.coverage[static_cast<size_t>(y) * ink.w + x] =
          sample_alpha(p.g, t[0] - p.gx - 0.5, t[1] - p.gy - 0.5);
    }
  return ink;
}

// Box of the pixels with coverage >= thr; false when there is none.
bool coverage_box(const DigitInk& ink, float thr, Box& b) {
  int lx = 1 << 30, ly = 1 << 30, hx = -1, hy = -1;
  for (int y = 0; y < ink.h; ++y)
    for (int x = 0; x < ink.w; ++x)
      if (ink.coverage[static_cast<size_t>(y) * ink.w + x] >= thr) {
        lx = std::min(lx, x), hx = std::max(hx, x), ly = std::min(ly, y), hy = std::max(hy, y);
      }
  if (hx < 0) return false;
  b.x1 = static_cast<float>(ink.x0 + lx);
  b.y1 = static_cast<float>(ink.y0 + ly);
  b.x2 = static_cast<float>(ink.x0 + hx + 1);
  b.y2 = static_cast<float>(ink.y0 + hy + 1);
  b.label = ink.digit + 1;
  return true;
}

// The tight box (coverage >= 0.5). False when the digit is so thin at this size that
// its faint ink (coverage >= 0.1) reaches more than 1 px past that box: such a digit is
// visible but its box would not cover it, so the layout is drawn again.
bool ink_box(const DigitInk& ink, Box& b) {
  Box faint;
  if (!coverage_box(ink, 0.5f, b) || !coverage_box(ink, 0.1f, faint)) return false;
  return b.x1 - faint.x1 <= 1 && b.y1 - faint.y1 <= 1 && faint.x2 - b.x2 <= 1 && faint.y2 - b.y2 <= 1;
}

int draw_num_digits(Rng& rng, int lo, int hi) {
  // Roughly SVHN's mix: mostly 2-3 digits.
  static const double cum[5] = {0.15, 0.55, 0.87, 0.98, 1.0};
  const double u = rng.uniform();
  int n = 1;
  while (n < 5 && u > cum[n - 1]) ++n;
  return std::clamp(n, lo, hi);
}

}  // namespace

SynthGenerator::SynthGenerator(SynthOptions opt, const std::vector<std::string>& font_dirs)
    : opt_(opt) {
  DR_CHECK(opt_.min_digits >= 1 && opt_.max_digits <= 5 && opt_.min_digits <= opt_.max_digits,
           "synth: digits per image must be within 1..5, got " << opt_.min_digits << ".."
                                                                << opt_.max_digits);
  fonts_ = load_fonts(find_digit_fonts(font_dirs.empty() ? default_font_dirs() : font_dirs));
}

uint64_t synth_image_seed(uint64_t seed, int64_t id) {
  Rng r(seed * 0xD6E8FEB86659FD93ull + static_cast<uint64_t>(id) * 0x9E3779B97F4A7C15ull + 1);
  return r.next_u64();
}

SynthImage SynthGenerator::render(uint64_t seed) const {
  constexpr int kMinW = 27, kMaxW = 741, kMinH = 12, kMaxH = 423;  // SVHN's size range
  Rng rng(seed);
  for (int attempt = 0;; ++attempt) {
    DR_CHECK(attempt < 50, "synth: could not lay out an image for seed " << seed);
    const int n = draw_num_digits(rng, opt_.min_digits, opt_.max_digits);
    const Font& font = *fonts_[rng.randint(static_cast<int64_t>(fonts_.size()))];
    // Digit height: log-normal with median 28 px (SVHN's small test-style crops have
    // ~20 px digits, its larger photos ~45 px), so many digits are under 15 px.
    double hd = std::exp(rng.normal(std::log(28.0), 0.6));
    hd = std::clamp(hd, static_cast<double>(opt_.min_digit_px), static_cast<double>(opt_.max_digit_px));
    hd = std::min(hd, 600.0 / (0.8 * n + 0.6));
    const float scale = font.scale_for_digit_height(static_cast<float>(hd));

    // Layout in text space: baseline at y = 0, pen moving right.
    std::vector<Placed> glyphs;
    double pen = 0;
    for (int i = 0; i < n; ++i) {
      const int d = static_cast<int>(rng.randint(10));
      const double fpen = std::floor(pen);
      const double jitter = opt_.geometry ? rng.normal(0.0, 0.03 * hd) : 0.0;
      Placed p{d, font.render_digit(d, scale, static_cast<float>(pen - fpen), 0.f), 0, 0};
      p.gx = fpen + p.g.x0;
      p.gy = p.g.y0 + jitter;
      glyphs.push_back(std::move(p));
      pen += glyphs.back().g.advance + rng.uniform(opt_.min_spacing, opt_.max_spacing) * hd;
    }
    double tx0 = 1e30, ty0 = 1e30, tx1 = -1e30, ty1 = -1e30;
    for (const Placed& p : glyphs) {
      tx0 = std::min(tx0, p.gx), ty0 = std::min(ty0, p.gy);
      tx1 = std::max(tx1, p.gx + p.g.w), ty1 = std::max(ty1, p.gy + p.g.h);
    }
    if (tx1 <= tx0 || ty1 <= ty0) continue;

    // Text space -> image: rotate, slant and tilt about the block's centre.
    const double cx = 0.5 * (tx0 + tx1), cy = 0.5 * (ty0 + ty1), tw = tx1 - tx0;
    Mat3 G = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    if (opt_.geometry) {
      const double ang = std::clamp(rng.normal(0.0, 3.0), -10.0, 10.0) * 3.14159265358979 / 180;
      const double slant = rng.uniform() < 0.3 ? rng.uniform(-0.25, 0.25) : 0.0;
      const double persp = rng.uniform() < 0.3 ? rng.uniform(-0.3, 0.3) / tw : 0.0;
      const Mat3 R = {std::cos(ang), -std::sin(ang), 0, std::sin(ang), std::cos(ang), 0, 0, 0, 1};
      // House-number plates favour narrow digits (SVHN boxes are ~2x taller than wide).
      const double squeeze = rng.uniform() < 0.6 ? rng.uniform(0.6, 1.0) : 1.0;
      const Mat3 S = {squeeze, slant, 0, 0, 1, 0, 0, 0, 1};
      const Mat3 P = {1, 0, 0, 0, 1, 0, persp, 0, 1};
      G = mul(P, mul(R, S));
    }
    G = mul(G, translate(-cx, -cy));
    double bx0 = 1e30, by0 = 1e30, bx1 = -1e30, by1 = -1e30;
    for (int k = 0; k < 4; ++k) {
      auto q = apply(G, k & 1 ? tx1 : tx0, k & 2 ? ty1 : ty0);
      bx0 = std::min(bx0, q[0]), bx1 = std::max(bx1, q[0]), by0 = std::min(by0, q[1]), by1 = std::max(by1, q[1]);
    }
    // Margins from tight crops to SVHN's wide photos (log-uniform), then SVHN's size
    // limits: margins shrink to fit, a text block too big for them is drawn again.
    auto log_uniform = [&](double lo, double hi) { return std::exp(rng.uniform(std::log(lo), std::log(hi))); };
    double ml = log_uniform(0.15, 4.0) * hd, mr = log_uniform(0.15, 4.0) * hd;
    double mt = log_uniform(0.12, 1.5) * hd, mb = log_uniform(0.12, 1.5) * hd;
    const double text_w = bx1 - bx0, text_h = by1 - by0;
    if (text_w + 2 > kMaxW || text_h + 2 > kMaxH) continue;
    if (text_w + ml + mr > kMaxW) {
      const double f = (kMaxW - text_w - 1) / (ml + mr);
      ml *= f, mr *= f;
    }
    if (text_h + mt + mb > kMaxH) {
      const double f = (kMaxH - text_h - 1) / (mt + mb);
      mt *= f, mb *= f;
    }
    int W = static_cast<int>(std::ceil(text_w + ml + mr));
    int Hh = static_cast<int>(std::ceil(text_h + mt + mb));
    if (W < kMinW) {
      ml += 0.5 * (kMinW - W), mr += 0.5 * (kMinW - W);
      W = kMinW;
    }
    if (Hh < kMinH) {
      mt += 0.5 * (kMinH - Hh), mb += 0.5 * (kMinH - Hh);
      Hh = kMinH;
    }
    const Mat3 H = mul(translate(ml - bx0, mt - by0), G);
    const Mat3 Hinv = inverse(H);

    SynthImage out;
    bool ok = true;
    for (const Placed& p : glyphs) {
      DigitInk ink = warp_glyph(p, H, Hinv, W, Hh);
      Box b;
      if (!ink_box(ink, b)) {
        ok = false;
        break;
      }
      out.boxes.push_back(b);
      out.ink.push_back(std::move(ink));
    }
    if (!ok) continue;

    Canvas canvas(Hh, W);
    Rgb bg;
    if (opt_.textured) {
      bg = draw_background(canvas, rng);
    } else {
      bg = random_colour(rng);
      for (int y = 0; y < Hh; ++y)
        for (int x = 0; x < W; ++x) canvas.blend(y, x, bg, 1.f);
    }
    const float contrast = std::max(opt_.min_contrast, static_cast<float>(rng.uniform() < 0.8 ? 60 : 35));
    const Rgb fg = contrasting_colour(rng, bg, contrast);
    out.digit_colour = fg;
    const std::array<float, 4> block = {static_cast<float>(ml), static_cast<float>(mt),
                                        static_cast<float>(W - mr), static_cast<float>(Hh - mb)};
    if (opt_.clutter && rng.uniform() < 0.5) draw_clutter(canvas, rng, block);

    if (opt_.neighbours && rng.uniform() < 0.3) {
      // A digit cut by the left or right edge, at most ~35% of it visible, never
      // reaching a labelled box.
      const bool left = rng.uniform() < 0.5;
      const int nd = static_cast<int>(rng.randint(10));
      Placed nb{nd, font.render_digit(nd, scale, 0.f, 0.f), 0, 0};
      const double visible = rng.uniform(0.1, 0.35) * nb.g.w;
      float lo = 1e9f, hi = -1e9f;
      for (const Box& b : out.boxes) lo = std::min(lo, b.x1), hi = std::max(hi, b.x2);
      const double edge_gap = left ? lo - visible : W - visible - hi;
      if (edge_gap > 2) {
        const int ox = left ? static_cast<int>(visible) - nb.g.w : static_cast<int>(W - visible);
        const int oy = static_cast<int>(out.boxes[0].y1 + rng.normal(0, 0.05 * hd));
        for (int y = 0; y < nb.g.h; ++y)
          for (int x = 0; x < nb.g.w; ++x) {
            const int X = ox + x, Y = oy + y;
            if (X < 0 || Y < 0 || X >= W || Y >= Hh) continue;
            canvas.blend(Y, X, fg, nb.g.alpha[y * nb.g.w + x] * (1.f / 255.f));
          }
      }
    }

    for (const DigitInk& ink : out.ink)
      for (int y = 0; y < ink.h; ++y)
        for (int x = 0; x < ink.w; ++x) {
          const float a = ink.coverage[static_cast<size_t>(y) * ink.w + x];
          if (a > 0) canvas.blend(ink.y0 + y, ink.x0 + x, fg, a);
        }
    if (opt_.degrade) degrade(canvas, rng);
    out.image = canvas.to_image();
    return out;
  }
}

}  // namespace dr::data
