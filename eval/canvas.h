// A small RGB raster canvas for plots and box visualizations: filled and outlined
// rectangles, anti-aliasing-free thick lines, text from stb_easy_font (a public-domain
// bitmap font made of quads, scaled by an integer factor), PNG/JPEG loading through
// stb_image and PNG writing through stb_image_write (implementations come from libstb).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace dr::eval {

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
};

class Canvas {
 public:
  Canvas() = default;
  Canvas(int width, int height, Rgb background = {255, 255, 255});

  int width() const { return w_; }
  int height() const { return h_; }
  const std::vector<uint8_t>& pixels() const { return px_; }  // (H, W, 3)
  Rgb get(int x, int y) const;
  void set(int x, int y, Rgb c);  // ignores points outside

  // Inclusive pixel rectangles, clipped to the canvas.
  void fill_rect(int x0, int y0, int x1, int y1, Rgb c);
  void rect(int x0, int y0, int x1, int y1, Rgb c, int thickness = 1);
  // A line of the given thickness (square pen); dash > 0 draws dash-long dashes and gaps.
  void line(double x0, double y0, double x1, double y1, Rgb c, int thickness = 1, int dash = 0);

  // Text with its top-left corner at (x, y); scale multiplies the ~7 px glyphs.
  void text(int x, int y, const std::string& s, Rgb c, int scale = 1);
  // Text rotated 90 degrees counter-clockwise (reads bottom to top), top-left at (x, y).
  void text_vertical(int x, int y, const std::string& s, Rgb c, int scale = 1);
  static int text_width(const std::string& s, int scale = 1);
  static int text_height(int scale = 1);  // cap height plus descender

  // Copies src with its top-left at (x, y), clipped.
  void blit(const Canvas& src, int x, int y);
  // Nearest-neighbour resize by an integer or fractional factor (for tiny images).
  Canvas scaled(double factor) const;

  void write_png(const std::string& path) const;
  // Any format stb_image reads (PNG, JPEG, BMP, ...), as RGB. Throws naming the path.
  static Canvas load(const std::string& path);

 private:
  int w_ = 0, h_ = 0;
  std::vector<uint8_t> px_;
};

}  // namespace dr::eval
