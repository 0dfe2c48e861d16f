#include "data/fonts.h"

#include <dirent.h>
#include <stb_truetype.h>

#include <algorithm>
#include <cmath>

#include "data/image.h"

namespace dr::data {

struct Font::Impl {
  stbtt_fontinfo info;
};

Font::Font(const std::string& path) : path_(path), impl_(std::make_unique<Impl>()) {
  data_ = read_file_bytes(path);
  const int offset = stbtt_GetFontOffsetForIndex(data_.data(), 0);
  DR_CHECK(offset >= 0 && stbtt_InitFont(&impl_->info, data_.data(), offset),
           "font: " << path << " is not a TrueType font stb_truetype can read");
  int top = 0, bottom = 0;
  for (int d = 0; d < 10; ++d) {
    DR_CHECK(stbtt_FindGlyphIndex(&impl_->info, '0' + d) != 0,
             "font: " << path << " has no glyph for digit " << d);
    int x0, y0, x1, y1;
    stbtt_GetCodepointBox(&impl_->info, '0' + d, &x0, &y0, &x1, &y1);
    top = std::max(top, y1);
    bottom = std::min(bottom, y0);
  }
  digit_units_ = static_cast<float>(std::max(1, top - bottom));
}

Font::~Font() = default;

float Font::scale_for_digit_height(float px) const { return px / digit_units_; }

GlyphBitmap Font::render_digit(int digit, float scale, float shift_x, float shift_y) const {
  DR_CHECK(digit >= 0 && digit <= 9, "font: digit " << digit);
  GlyphBitmap g;
  int x0, y0, x1, y1;
  const int cp = '0' + digit;
  stbtt_GetCodepointBitmapBoxSubpixel(&impl_->info, cp, scale, scale, shift_x, shift_y, &x0, &y0,
                                      &x1, &y1);
  g.x0 = x0;
  g.y0 = y0;
  g.w = std::max(0, x1 - x0);
  g.h = std::max(0, y1 - y0);
  g.alpha.assign(static_cast<size_t>(g.w) * g.h, 0);
  if (g.w > 0 && g.h > 0)
    stbtt_MakeCodepointBitmapSubpixel(&impl_->info, g.alpha.data(), g.w, g.h, g.w, scale, scale,
                                      shift_x, shift_y, cp);
  int adv, lsb;
  stbtt_GetCodepointHMetrics(&impl_->info, cp, &adv, &lsb);
  g.advance = adv * scale;
  return g;
}

std::vector<std::string> default_font_dirs() {
  return {"/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype/liberation",
          "/usr/share/fonts/truetype/liberation2", "/usr/share/fonts/truetype/freefont"};
}

std::vector<std::string> find_digit_fonts(const std::vector<std::string>& dirs) {
  std::vector<std::string> out;
  for (const std::string& d : dirs) {
    DIR* dir = opendir(d.c_str());
    if (!dir) continue;
    while (dirent* e = readdir(dir)) {
      std::string n = e->d_name;
      if (n.size() < 5 || n.compare(n.size() - 4, 4, ".ttf") != 0) continue;
      // Math/symbol faces have no ordinary digits worth learning from.
      if (n.find("Math") != std::string::npos || n.find("Symbol") != std::string::npos) continue;
      out.push_back(d + "/" + n);
    }
    closedir(dir);
  }
  std::sort(out.begin(), out.end());
  if (out.empty()) {
    std::string list;
    for (const auto& d : dirs) list += " " + d;
    DR_FAIL("synth: no TrueType fonts (.ttf) found in" << list
            << "; install the Debian packages fonts-dejavu-core fonts-liberation "
               "fonts-freefont-ttf (`make deps`) or pass --fonts DIR");
  }
  return out;
}

std::vector<std::unique_ptr<Font>> load_fonts(const std::vector<std::string>& paths) {
  std::vector<std::unique_ptr<Font>> fonts;
  for (const auto& p : paths) fonts.push_back(std::make_unique<Font>(p));
  return fonts;
}

}  // namespace dr::data
