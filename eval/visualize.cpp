#include "eval/visualize.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "kernels/error.h"

namespace dr::eval {

namespace {

constexpr int kTextScale = 2;  // stb_easy_font glyphs at 2x: ~14 px, readable on any tile

// A label on a filled background; (x, y) is its top-left, kept inside the canvas.
void label(Canvas& c, int x, int y, const std::string& s, Rgb bg) {
  const int w = Canvas::text_width(s, kTextScale) + 4, h = 7 * kTextScale + 5;
  x = std::max(0, std::min(x, c.width() - w));
  y = std::max(0, std::min(y, c.height() - h));
  c.fill_rect(x, y, x + w - 1, y + h - 1, bg);
  c.text(x + 2, y + 3, s, {255, 255, 255}, kTextScale);
}

}  // namespace

Canvas draw_boxes(const Canvas& image, const VisItem& item, const VisLayout& L) {
  const double f = std::min({L.max_upscale, static_cast<double>(L.max_w) / image.width(),
                             static_cast<double>(L.max_h) / image.height()});
  Canvas img = image.scaled(f);
  // Room around the image for labels that stick out of boxes at the border.
  const int pad = 7 * kTextScale + 8, header_h = 7 * kTextScale + 12;
  const int W = std::max(img.width() + 2 * pad, Canvas::text_width(item.header, kTextScale) + 12);
  Canvas out(W, img.height() + 2 * pad + header_h, {245, 245, 245});
  const int ox = (W - img.width()) / 2, oy = header_h + pad;
  out.blit(img, ox, oy);
  out.text(6, 6, item.header, {0, 0, 0}, kTextScale);
  auto X = [&](double x) { return ox + static_cast<int>(std::lround(x * f)); };
  auto Y = [&](double y) { return oy + static_cast<int>(std::lround(y * f)); };
  for (const GtAnnotation* g : item.gts) {
    const Box& b = g->bbox;
    out.rect(X(b.x), Y(b.y), X(b.x + b.w), Y(b.y + b.h), kGtColor, 2);
    const int digit = static_cast<int>(g->category_id - 1);
    label(out, X(b.x), Y(b.y + b.h) + 2, digit >= 0 && digit <= 9 ? std::to_string(digit) : "?", kGtColor);
  }
  for (const Detection* d : item.dets) {
    const Box& b = d->bbox;
    out.rect(X(b.x), Y(b.y), X(b.x + b.w), Y(b.y + b.h), kPredColor, 2);
    char s[32];
    const long digit = static_cast<long>(d->category_id - 1);
    std::snprintf(s, sizeof s, "%ld %.2f", digit, d->score);
    label(out, X(b.x), Y(b.y) - (7 * kTextScale + 7), s, kPredColor);
  }
  return out;
}

Canvas make_grid(const std::vector<Canvas>& tiles, int cols) {
  DR_CHECK(!tiles.empty(), "make_grid: no tiles");
  DR_CHECK(cols > 0, "make_grid: cols " << cols);
  cols = std::min<int>(cols, static_cast<int>(tiles.size()));
  int cw = 0, ch = 0;
  for (const Canvas& t : tiles) cw = std::max(cw, t.width()), ch = std::max(ch, t.height());
  const int rows = (static_cast<int>(tiles.size()) + cols - 1) / cols, gap = 6;
  Canvas out(cols * (cw + gap) + gap, rows * (ch + gap) + gap, {200, 200, 200});
  for (size_t i = 0; i < tiles.size(); ++i)
    out.blit(tiles[i], gap + static_cast<int>(i % cols) * (cw + gap),
             gap + static_cast<int>(i / cols) * (ch + gap));
  return out;
}

}  // namespace dr::eval
