// Chart backends: the layout's primitives as SVG text, or as pixels on a Canvas.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "eval/chart.h"
#include "kernels/error.h"

namespace dr::eval {

namespace {

std::string svg_color(Rgb c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", c.r, c.g, c.b);
  return buf;
}

std::string xml_escape(const std::string& s) {
  std::string o;
  for (char ch : s) {
    switch (ch) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      default: o += ch;
    }
  }
  return o;
}

// Pixel-text scale for a requested size: stb_easy_font glyphs are ~7 px tall.
int raster_scale(double size) { return size >= 20 ? 3 : 2; }

}  // namespace

std::string chart_svg(const Chart& c, int W, int H) {
  // Sans-serif text is roughly 0.55 em wide a character.
  auto measure = [](const std::string& s, double size) { return 0.56 * size * s.size(); };
  std::ostringstream os;
  os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H
     << "\" viewBox=\"0 0 " << W << " " << H << "\" font-family=\"DejaVu Sans, Arial, sans-serif\">\n";
  char num[64];
  auto f = [&](double v) {
    std::snprintf(num, sizeof num, "%.2f", v);
    return std::string(num);
  };
  for (const Prim& p : layout_chart(c, W, H, measure)) {
    switch (p.kind) {
      case Prim::kRect:
        os << "<rect x=\"" << f(p.xy[0]) << "\" y=\"" << f(p.xy[1]) << "\" width=\"" << f(p.xy[2])
           << "\" height=\"" << f(p.xy[3]) << "\" fill=\""
           << (p.filled ? svg_color(p.fill_color) : "none") << "\"";
        if (p.width > 0) os << " stroke=\"" << svg_color(p.color) << "\" stroke-width=\"" << p.width << "\"";
        os << "/>\n";
        break;
      case Prim::kPolyline:
        os << "<polyline fill=\"none\" stroke=\"" << svg_color(p.color) << "\" stroke-width=\""
           << p.width << "\" stroke-linejoin=\"round\"" << (p.dashed ? " stroke-dasharray=\"6,4\"" : "")
           << " points=\"";
        for (size_t i = 0; i + 1 < p.xy.size(); i += 2) os << f(p.xy[i]) << "," << f(p.xy[i + 1]) << " ";
        os << "\"/>\n";
        break;
      case Prim::kDot:
        os << "<circle cx=\"" << f(p.xy[0]) << "\" cy=\"" << f(p.xy[1]) << "\" r=\"" << p.width
           << "\" fill=\"" << svg_color(p.color) << "\"/>\n";
        break;
      case Prim::kText: {
        const char* anchor = p.anchor == 0 ? "start" : p.anchor == 1 ? "middle" : "end";
        // y is the text's center; SVG places the baseline, ~0.35 em below the center.
        if (p.vertical) {
          os << "<text transform=\"translate(" << f(p.xy[0] + 0.35 * p.size) << "," << f(p.xy[1])
             << ") rotate(-90)\"";
        } else {
          os << "<text x=\"" << f(p.xy[0]) << "\" y=\"" << f(p.xy[1] + 0.35 * p.size) << "\"";
        }
        os << " font-size=\"" << p.size << "\" text-anchor=\"" << anchor << "\" fill=\""
           << svg_color(p.color) << "\"" << (p.bold ? " font-weight=\"bold\"" : "") << ">"
           << xml_escape(p.text) << "</text>\n";
        break;
      }
    }
  }
  os << "</svg>\n";
  return os.str();
}

Canvas chart_png(const Chart& c, int W, int H) {
  auto measure = [](const std::string& s, double size) {
    return static_cast<double>(Canvas::text_width(s, raster_scale(size)));
  };
  Canvas cv(W, H);
  for (const Prim& p : layout_chart(c, W, H, measure)) {
    const int t = std::max(1, static_cast<int>(std::lround(p.width)));
    switch (p.kind) {
      case Prim::kRect: {
        const int x0 = static_cast<int>(std::lround(p.xy[0])), y0 = static_cast<int>(std::lround(p.xy[1]));
        const int x1 = static_cast<int>(std::lround(p.xy[0] + p.xy[2])) - 1;
        const int y1 = static_cast<int>(std::lround(p.xy[1] + p.xy[3])) - 1;
        if (p.filled) cv.fill_rect(x0, y0, x1, y1, p.fill_color);
        if (p.width > 0) cv.rect(x0, y0, x1, y1, p.color, t);
        break;
      }
      case Prim::kPolyline:
        for (size_t i = 0; i + 3 < p.xy.size(); i += 2)
          cv.line(p.xy[i], p.xy[i + 1], p.xy[i + 2], p.xy[i + 3], p.color, t, p.dashed ? 6 : 0);
        break;
      case Prim::kDot: {
        const int r = static_cast<int>(std::lround(p.width));
        const int cx = static_cast<int>(std::lround(p.xy[0])), cy = static_cast<int>(std::lround(p.xy[1]));
        for (int dy = -r; dy <= r; ++dy)
          for (int dx = -r; dx <= r; ++dx)
            if (dx * dx + dy * dy <= r * r) cv.set(cx + dx, cy + dy, p.color);
        break;
      }
      case Prim::kText: {
        const int s = raster_scale(p.size);
        const int w = Canvas::text_width(p.text, s), h = Canvas::text_height(s);
        if (p.vertical) {
          const int x = static_cast<int>(std::lround(p.xy[0] - h / 2.0));
          const int y = static_cast<int>(std::lround(p.xy[1] - w / 2.0));
          cv.text_vertical(x, y, p.text, p.color, s);
        } else {
          const double ax = p.anchor == 0 ? 0 : p.anchor == 1 ? w / 2.0 : w;
          const int x = static_cast<int>(std::lround(p.xy[0] - ax));
          const int y = static_cast<int>(std::lround(p.xy[1] - 7 * s / 2.0));  // center the cap height
          cv.text(x, y, p.text, p.color, s);
          if (p.bold) cv.text(x + 1, y, p.text, p.color, s);
        }
        break;
      }
    }
  }
  return cv;
}

std::vector<std::string> write_chart(const Chart& c, const std::string& stem,
                                     const std::string& format) {
  DR_CHECK(format == "svg" || format == "png" || format == "both",
           "chart: format must be svg, png or both, got \"" << format << "\"");
  std::vector<std::string> written;
  if (format != "png") {
    const std::string path = stem + ".svg";
    std::ofstream f(path);
    DR_CHECK(f, path << ": cannot open for writing");
    f << chart_svg(c);
    DR_CHECK(f.good(), path << ": write error");
    written.push_back(path);
  }
  if (format != "svg") {
    chart_png(c).write_png(stem + ".png");
    written.push_back(stem + ".png");
  }
  return written;
}

}  // namespace dr::eval
