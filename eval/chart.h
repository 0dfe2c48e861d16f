// Line charts written as standalone SVG or PNG files (readable in any browser or image
// viewer, no other tool): title, axes with "nice" ticks and grid, axis labels, a legend,
// optional vertical markers (e.g. the best threshold). One layout produces drawing
// primitives; two small backends turn them into SVG text or pixels on a Canvas.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "eval/canvas.h"

namespace dr::eval {

struct Series {
  std::string name;
  std::vector<double> x, y;  // same length; non-finite y values break the line
  Rgb color{};
  bool dashed = false;
  bool markers = false;  // a dot on every point (sparse series such as per-epoch values)
};

struct Marker {
  double x = 0;
  std::string label;
  Rgb color{120, 120, 120};
};

struct Chart {
  std::string title, x_label, y_label;
  std::vector<Series> series;
  std::vector<Marker> markers;
  bool y_from_zero = false;  // include 0 in the y range
  bool log_y = false;        // log10 y axis (values <= 0 are skipped)
};

// The i-th color of a 10-color palette (matplotlib's tab10 values).
Rgb palette(int i);

// "Nice" tick positions covering [lo, hi] (about `target` of them, steps 1/2/5 x 10^k).
std::vector<double> nice_ticks(double lo, double hi, int target = 6);
// Tick label text: fixed decimals from the step, %g for very small or large values.
std::string tick_label(double v, double step);

// ---- the layout's primitives (pixels, y down) ----
struct Prim {
  enum Kind { kPolyline, kRect, kText, kDot } kind = kPolyline;
  std::vector<double> xy;  // polyline points x0, y0, x1, y1, ...; rect x, y, w, h; text/dot x, y
  Rgb color{};
  double width = 1;     // stroke width (polyline, rect outline), dot radius
  bool dashed = false;
  bool filled = false;  // rect: fill with fill_color
  Rgb fill_color{255, 255, 255};
  std::string text;
  double size = 13;  // text height in px
  int anchor = 0;    // 0 start, 1 middle, 2 end (text x position); y is the text's center
  bool vertical = false;
  bool bold = false;
};
using MeasureText = std::function<double(const std::string& text, double size)>;
std::vector<Prim> layout_chart(const Chart& c, int width, int height, const MeasureText& measure);

std::string chart_svg(const Chart& c, int width = 900, int height = 540);
Canvas chart_png(const Chart& c, int width = 900, int height = 540);
// format: "svg", "png" or "both"; writes <stem>.svg / <stem>.png, returns the paths.
std::vector<std::string> write_chart(const Chart& c, const std::string& stem,
                                     const std::string& format);

}  // namespace dr::eval
