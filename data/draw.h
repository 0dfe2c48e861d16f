// Drawing for previews: box outlines, digit labels in a built-in 3x5 pixel font (no
// font file needed), and a grid of samples.
#pragma once
#include <array>
#include <string>
#include <vector>

#include "data/box.h"

namespace dr::data {

using Colour = std::array<uint8_t, 3>;
Colour label_colour(int label);  // a distinct colour per category

void draw_rect(Image& img, const Box& b, const Colour& c, int thickness = 1);
void fill_rect(Image& img, int x0, int y0, int x1, int y1, const Colour& c);
// Draws `text` (digits, '-', ' ') with its top-left at (x, y), each font pixel a
// scale x scale square.
void draw_text(Image& img, int x, int y, const std::string& text, const Colour& c, int scale = 2);

// One preview tile: the image scaled to `cell_h` px tall, its boxes outlined and each
// labelled with its digit (category_id - 1) above the box, and `caption` under it.
Image preview_tile(const Image& img, const std::vector<Box>& boxes, int cell_h,
                   const std::string& caption);
// Packs tiles left to right into rows of at most max_w px, on a dark grey background.
Image pack_grid(const std::vector<Image>& tiles, int max_w, int gap = 4);

}  // namespace dr::data
