#include "eval/canvas.h"

#include <algorithm>
#include <cmath>

#include "kernels/error.h"

// stb headers: declarations only; libstb provides the implementations. stb_easy_font is
// a set of static functions (no implementation macro exists for it).
#include <stb_image.h>
#include <stb_image_write.h>
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include <stb_easy_font.h>
#pragma GCC diagnostic pop

namespace dr::eval {

Canvas::Canvas(int width, int height, Rgb bg) : w_(width), h_(height) {
  DR_CHECK(width > 0 && height > 0 && static_cast<int64_t>(width) * height < (1ll << 28),
           "canvas: bad size " << width << "x" << height);
  px_.resize(static_cast<size_t>(width) * height * 3);
  for (size_t i = 0; i < px_.size(); i += 3) {
    px_[i] = bg.r;
    px_[i + 1] = bg.g;
    px_[i + 2] = bg.b;
  }
}

Rgb Canvas::get(int x, int y) const {
  if (x < 0 || y < 0 || x >= w_ || y >= h_) return {};
  const uint8_t* p = &px_[(static_cast<size_t>(y) * w_ + x) * 3];
  return {p[0], p[1], p[2]};
}

void Canvas::set(int x, int y, Rgb c) {
  if (x < 0 || y < 0 || x >= w_ || y >= h_) return;
  uint8_t* p = &px_[(static_cast<size_t>(y) * w_ + x) * 3];
  p[0] = c.r;
  p[1] = c.g;
  p[2] = c.b;
}

void Canvas::fill_rect(int x0, int y0, int x1, int y1, Rgb c) {
  if (x0 > x1) std::swap(x0, x1);
  if (y0 > y1) std::swap(y0, y1);
  x0 = std::max(x0, 0), y0 = std::max(y0, 0);
  x1 = std::min(x1, w_ - 1), y1 = std::min(y1, h_ - 1);
  for (int y = y0; y <= y1; ++y)
    for (int x = x0; x <= x1; ++x) set(x, y, c);
}

void Canvas::rect(int x0, int y0, int x1, int y1, Rgb c, int t) {
  if (x0 > x1) std::swap(x0, x1);
  if (y0 > y1) std::swap(y0, y1);
  fill_rect(x0, y0, x1, y0 + t - 1, c);
  fill_rect(x0, y1 - t + 1, x1, y1, c);
  fill_rect(x0, y0, x0 + t - 1, y1, c);
  fill_rect(x1 - t + 1, y0, x1, y1, c);
}

void Canvas::line(double x0, double y0, double x1, double y1, Rgb c, int t, int dash) {
  if (!std::isfinite(x0) || !std::isfinite(y0) || !std::isfinite(x1) || !std::isfinite(y1)) return;
  const double len = std::hypot(x1 - x0, y1 - y0);
  const int n = std::max(1, static_cast<int>(std::ceil(len * 2)));  // half-pixel steps
  const int lo = -(t - 1) / 2, hi = t / 2;
  for (int i = 0; i <= n; ++i) {
    const double f = static_cast<double>(i) / n;
    if (dash > 0 && static_cast<int>(f * len / dash) % 2 == 1) continue;
    const int x = static_cast<int>(std::lround(x0 + f * (x1 - x0)));
    const int y = static_cast<int>(std::lround(y0 + f * (y1 - y0)));
    for (int dy = lo; dy <= hi; ++dy)
      for (int dx = lo; dx <= hi; ++dx) set(x + dx, y + dy, c);
  }
}

namespace {

// stb_easy_font's vertex layout: x, y, z as floats and 4 color bytes; 4 vertices a quad.
struct EasyFontVertex {
  float x, y, z;
  unsigned char rgba[4];
};

// The font covers printable ASCII only; anything else is drawn as '?'.
std::string printable(const std::string& s) {
  std::string out = s;
  for (char& ch : out)
    if (ch < 32 || ch > 126) ch = '?';
  return out;
}

template <typename Plot>
void easy_font_quads(const std::string& s, Plot plot) {
  std::vector<EasyFontVertex> buf(s.size() * 300 / sizeof(EasyFontVertex) * 4 + 64);
  std::string copy = printable(s);
  const int quads = stb_easy_font_print(0, 0, copy.data(), nullptr, buf.data(),
                                        static_cast<int>(buf.size() * sizeof(EasyFontVertex)));
  for (int q = 0; q < quads; ++q) {
    const EasyFontVertex* v = &buf[q * 4];
    // Corners are v[0] (top-left) and v[2] (bottom-right), in font pixels.
    plot(static_cast<int>(v[0].x), static_cast<int>(v[0].y), static_cast<int>(v[2].x),
         static_cast<int>(v[2].y));
  }
}

}  // namespace

void Canvas::text(int x, int y, const std::string& s, Rgb c, int scale) {
  easy_font_quads(s, [&](int qx0, int qy0, int qx1, int qy1) {
    fill_rect(x + qx0 * scale, y + qy0 * scale, x + qx1 * scale - 1, y + qy1 * scale - 1, c);
  });
}

void Canvas::text_vertical(int x, int y, const std::string& s, Rgb c, int scale) {
  // Font pixel (u, v) lands at (x + v, y + W - u): rotated counter-clockwise.
  const int W = text_width(s, scale);
  easy_font_quads(s, [&](int qx0, int qy0, int qx1, int qy1) {
    fill_rect(x + qy0 * scale, y + W - qx1 * scale, x + qy1 * scale - 1, y + W - qx0 * scale - 1, c);
  });
}

int Canvas::text_width(const std::string& s, int scale) {
  std::string copy = printable(s);
  return stb_easy_font_width(copy.data()) * scale;
}

int Canvas::text_height(int scale) { return 9 * scale; }

void Canvas::blit(const Canvas& src, int x, int y) {
  for (int sy = 0; sy < src.h_; ++sy)
    for (int sx = 0; sx < src.w_; ++sx) set(x + sx, y + sy, src.get(sx, sy));
}

Canvas Canvas::scaled(double f) const {
  DR_CHECK(f > 0, "canvas: scale factor " << f);
  const int nw = std::max(1, static_cast<int>(std::lround(w_ * f)));
  const int nh = std::max(1, static_cast<int>(std::lround(h_ * f)));
  Canvas out(nw, nh);
  for (int y = 0; y < nh; ++y)
    for (int x = 0; x < nw; ++x)
      out.set(x, y, get(std::min(w_ - 1, static_cast<int>(x / f)),
                        std::min(h_ - 1, static_cast<int>(y / f))));
  return out;
}

void Canvas::write_png(const std::string& path) const {
  DR_CHECK(w_ > 0 && h_ > 0, path << ": empty canvas");
  DR_CHECK(stbi_write_png(path.c_str(), w_, h_, 3, px_.data(), w_ * 3) != 0,
           path << ": cannot write PNG");
}

Canvas Canvas::load(const std::string& path) {
  int w = 0, h = 0, n = 0;
  unsigned char* data = stbi_load(path.c_str(), &w, &h, &n, 3);
  DR_CHECK(data != nullptr, path << ": cannot read image (" << stbi_failure_reason() << ")");
  Canvas c(w, h);
  std::copy(data, data + static_cast<size_t>(w) * h * 3, c.px_.begin());
  stbi_image_free(data);
  return c;
}

}  // namespace dr::eval
