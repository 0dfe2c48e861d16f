#include "data/draw.h"

#include <algorithm>
#include <cmath>

namespace dr::data {

namespace {
// 3x5 glyphs, one row per 3-bit number (bit 2 = left column).
const uint8_t kGlyph[12][5] = {
    {7, 5, 5, 5, 7}, {2, 6, 2, 2, 7}, {7, 1, 7, 4, 7}, {7, 1, 7, 1, 7}, {5, 5, 7, 1, 1},
    {7, 4, 7, 1, 7}, {7, 4, 7, 5, 7}, {7, 1, 1, 2, 2}, {7, 5, 7, 5, 7}, {7, 5, 7, 1, 7},
    {0, 0, 7, 0, 0},  // '-'
    {0, 0, 0, 0, 0},  // ' '
};
}  // namespace

Colour label_colour(int label) {
  static const Colour pal[10] = {{255, 64, 64},  {64, 255, 64},  {64, 128, 255}, {255, 255, 0},
                                 {255, 0, 255},  {0, 255, 255},  {255, 160, 0},  {160, 255, 160},
                                 {200, 120, 255}, {255, 255, 255}};
  return pal[((label % 10) + 10) % 10];
}

void fill_rect(Image& img, int x0, int y0, int x1, int y1, const Colour& c) {
  for (int y = std::max(0, y0); y < std::min(img.h, y1); ++y)
    for (int x = std::max(0, x0); x < std::min(img.w, x1); ++x) {
      uint8_t* p = img.at(y, x);
      p[0] = c[0], p[1] = c[1], p[2] = c[2];
    }
}

void draw_rect(Image& img, const Box& b, const Colour& c, int t) {
  // Outline drawn just outside the box so the content inside stays visible.
  const int x0 = static_cast<int>(std::floor(b.x1)) - t, y0 = static_cast<int>(std::floor(b.y1)) - t;
  const int x1 = static_cast<int>(std::ceil(b.x2)) + t, y1 = static_cast<int>(std::ceil(b.y2)) + t;
  fill_rect(img, x0, y0, x1, y0 + t, c);
  fill_rect(img, x0, y1 - t, x1, y1, c);
  fill_rect(img, x0, y0, x0 + t, y1, c);
  fill_rect(img, x1 - t, y0, x1, y1, c);
}

void draw_text(Image& img, int x, int y, const std::string& text, const Colour& c, int s) {
  for (char ch : text) {
    int g = ch >= '0' && ch <= '9' ? ch - '0' : (ch == '-' ? 10 : 11);
    for (int r = 0; r < 5; ++r)
      for (int col = 0; col < 3; ++col)
        if (kGlyph[g][r] & (4 >> col)) fill_rect(img, x + col * s, y + r * s, x + (col + 1) * s, y + (r + 1) * s, c);
    x += 4 * s;
  }
}

Image preview_tile(const Image& img, const std::vector<Box>& boxes, int cell_h,
                   const std::string& caption) {
  const float f = static_cast<float>(cell_h) / img.h;
  const int w = std::max(1, static_cast<int>(std::lround(img.w * f)));
  const int label_h = 12, cap_h = 12, pad = 2;
  Image tile(label_h + cell_h + cap_h + 2 * pad, std::max(w + 2 * pad, 4 * 2 * static_cast<int>(caption.size()) + 2 * pad), 24);
  const Image big = resize_bilinear(img, cell_h, w);
  for (int y = 0; y < cell_h; ++y)
    std::copy(big.at(y, 0), big.at(y, 0) + 3 * w, tile.at(label_h + pad + y, pad));
  for (const Box& b0 : boxes) {
    Box b = b0;
    b.x1 = b.x1 * f + pad, b.x2 = b.x2 * f + pad;
    b.y1 = b.y1 * f + label_h + pad, b.y2 = b.y2 * f + label_h + pad;
    const Colour c = label_colour(b.label - 1);
    draw_rect(tile, b, c, 1);
    // The label sits above the box (inside the tile's label strip when the box is high).
    const int ty = std::max(0, static_cast<int>(b.y1) - 12);
    draw_text(tile, static_cast<int>(b.x1), ty, std::to_string(b.label - 1), c, 2);
  }
  draw_text(tile, pad, label_h + cell_h + pad + 1, caption, {200, 200, 200}, 2);
  return tile;
}

Image pack_grid(const std::vector<Image>& tiles, int max_w, int gap) {
  // First pass: row layout.
  struct Pos { int x, y; };
  std::vector<Pos> pos;
  int x = gap, y = gap, row_h = 0, width = 0;
  for (const Image& t : tiles) {
    if (x > gap && x + t.w + gap > max_w) {
      x = gap;
      y += row_h + gap;
      row_h = 0;
    }
    pos.push_back({x, y});
    x += t.w + gap;
    row_h = std::max(row_h, t.h);
    width = std::max(width, x);
  }
  Image grid(std::max(1, y + row_h + gap), std::max(1, width), 48);
  for (size_t i = 0; i < tiles.size(); ++i)
    for (int r = 0; r < tiles[i].h; ++r)
      std::copy(tiles[i].at(r, 0), tiles[i].at(r, 0) + 3 * tiles[i].w, grid.at(pos[i].y + r, pos[i].x));
  return grid;
}

}  // namespace dr::data
