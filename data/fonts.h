// Fonts for the synthetic generator: TrueType files from Debian's font packages
// (fonts-dejavu-core, fonts-liberation, fonts-freefont-ttf), rendered with stb_truetype.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace dr::data {

// A digit's anti-aliased coverage bitmap, positioned relative to the pen origin on the
// baseline (y grows downwards): pixel (0, 0) of `alpha` sits at (x0, y0).
struct GlyphBitmap {
  int w = 0, h = 0, x0 = 0, y0 = 0;
  float advance = 0;           // pen advance in pixels
  std::vector<uint8_t> alpha;  // (h, w), 0..255
};

class Font {
 public:
  Font(const std::string& path);  // throws dr::Error naming the file
  ~Font();
  Font(const Font&) = delete;
  Font& operator=(const Font&) = delete;
  const std::string& path() const { return path_; }
  // Scale that makes the ink of the digits (the tallest of '0'..'9') `px` pixels tall.
  float scale_for_digit_height(float px) const;
  GlyphBitmap render_digit(int digit, float scale, float shift_x, float shift_y) const;

 private:
  std::string path_;
  std::vector<uint8_t> data_;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  float digit_units_ = 1;  // ink height of the digits in font units
};

// Default search folders (the Debian packages' install places).
std::vector<std::string> default_font_dirs();
// Every usable .ttf under dirs (sorted, symbol/math fonts left out); throws a clear
// error naming the folders and the packages to install when none is found.
std::vector<std::string> find_digit_fonts(const std::vector<std::string>& dirs);
std::vector<std::unique_ptr<Font>> load_fonts(const std::vector<std::string>& paths);

}  // namespace dr::data
