// Chart layout: ranges, ticks, margins, legend placement -> primitives.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "eval/chart.h"

namespace dr::eval {

Rgb palette(int i) {
  static const Rgb kTab10[10] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44}, {214, 39, 40},
                                 {148, 103, 189}, {140, 86, 75},  {227, 119, 194}, {127, 127, 127},
                                 {188, 189, 34},  {23, 190, 207}};
  return kTab10[((i % 10) + 10) % 10];
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;
  if (hi < lo) std::swap(lo, hi);
  if (hi - lo < 1e-12 * std::max(1.0, std::fabs(hi))) {  // flat data: a unit-ish window
    const double pad = lo == 0 ? 1 : std::fabs(lo) * 0.1;
    lo -= pad, hi += pad;
  }
  const double raw = (hi - lo) / std::max(1, target - 1);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  const double first = std::floor(lo / step + 1e-9) * step;
  const double last = std::ceil(hi / step - 1e-9) * step;
  std::vector<double> t;
  for (int i = 0; first + i * step <= last + step * 1e-6 && i < 100; ++i) {
    double v = first + i * step;
    if (std::fabs(v) < step * 1e-9) v = 0;  // no "-0" or 1e-17 labels
    t.push_back(v);
  }
  return t;
}

std::string tick_label(double v, double step) {
  char buf[32];
  const double a = std::fabs(step);
  if (v == 0) return "0";
  if (a < 1e-3 || std::fabs(v) >= 1e6) {
    std::snprintf(buf, sizeof buf, "%.3g", v);
  } else {
    const int dec = std::max(0, static_cast<int>(std::ceil(-std::log10(a) - 1e-9)));
    std::snprintf(buf, sizeof buf, "%.*f", dec, v);
  }
  return buf;
}

namespace {

Prim text_prim(double x, double y, const std::string& s, double size, int anchor, Rgb c = {}) {
  Prim p;
  p.kind = Prim::kText;
  p.xy = {x, y};
  p.text = s;
  p.size = size;
  p.anchor = anchor;
  p.color = c;
  return p;
}

Prim line_prim(std::vector<double> xy, Rgb c, double width, bool dashed = false) {
  Prim p;
  p.kind = Prim::kPolyline;
  p.xy = std::move(xy);
  p.color = c;
  p.width = width;
  p.dashed = dashed;
  return p;
}

}  // namespace

std::vector<Prim> layout_chart(const Chart& c, int W, int H, const MeasureText& measure) {
  const double kTick = 13, kLabel = 14, kTitle = 17;
  auto ty = [&](double y) { return c.log_y ? (y > 0 ? std::log10(y) : NAN) : y; };
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
  for (const Series& s : c.series)
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      const double y = ty(s.y[i]);
      if (!std::isfinite(s.x[i]) || !std::isfinite(y)) continue;
      xlo = std::min(xlo, s.x[i]), xhi = std::max(xhi, s.x[i]);
      ylo = std::min(ylo, y), yhi = std::max(yhi, y);
    }
  for (const Marker& m : c.markers) xlo = std::min(xlo, m.x), xhi = std::max(xhi, m.x);
  if (!std::isfinite(xlo)) xlo = 0, xhi = 1;
  if (!std::isfinite(ylo)) ylo = 0, yhi = 1;
  if (c.y_from_zero && !c.log_y) ylo = std::min(ylo, 0.0), yhi = std::max(yhi, 0.0);
  std::vector<double> xt = nice_ticks(xlo, xhi, 8);
  std::vector<double> yt = c.log_y ? std::vector<double>{} : nice_ticks(ylo, yhi, 6);
  if (c.log_y) {
    for (double e = std::floor(ylo); e <= std::ceil(yhi) + 1e-9; e += 1) yt.push_back(e);
    if (yt.size() < 2) yt.push_back(yt.back() + 1);
  }
  const double ystep = yt.size() > 1 ? yt[1] - yt[0] : 1, xstep = xt.size() > 1 ? xt[1] - xt[0] : 1;
  auto ylabel_text = [&](double v) { return c.log_y ? tick_label(std::pow(10, v), 1e-9) : tick_label(v, ystep); };

  double ytick_w = 0;
  for (double v : yt) ytick_w = std::max(ytick_w, measure(ylabel_text(v), kTick));
  const double left = 14 + ytick_w + 10 + (c.y_label.empty() ? 0 : kLabel + 12);
  // Room for half of the last x tick label, which is centered on the right edge.
  const double right = W - std::max(24.0, measure(tick_label(xt.back(), xstep), kTick) / 2 + 10);
  const double top = c.title.empty() ? 16 : 16 + kTitle + 14;
  const double bottom = H - (10 + kTick + 8 + (c.x_label.empty() ? 0 : kLabel + 12));
  const double x0 = xt.front(), x1 = xt.back(), y0 = yt.front(), y1 = yt.back();
  auto px = [&](double x) { return left + (x - x0) / (x1 - x0) * (right - left); };
  auto py = [&](double y) { return bottom - (y - y0) / (y1 - y0) * (bottom - top); };

  std::vector<Prim> out;
  Prim bg;
  bg.kind = Prim::kRect;
  bg.xy = {0, 0, static_cast<double>(W), static_cast<double>(H)};
  bg.filled = true;
  bg.width = 0;
  out.push_back(bg);
  const Rgb grid{225, 225, 225}, axis{40, 40, 40};
  for (double v : xt) out.push_back(line_prim({px(v), top, px(v), bottom}, grid, 1));
  for (double v : yt) out.push_back(line_prim({left, py(v), right, py(v)}, grid, 1));
  for (double v : xt) out.push_back(text_prim(px(v), bottom + 8 + kTick / 2, tick_label(v, xstep), kTick, 1));
  for (double v : yt) out.push_back(text_prim(left - 8, py(v), ylabel_text(v), kTick, 2));
  if (!c.title.empty()) {
    Prim t = text_prim(W / 2.0, 16 + kTitle / 2, c.title, kTitle, 1);
    t.bold = true;
    out.push_back(t);
  }
  if (!c.x_label.empty())
    out.push_back(text_prim((left + right) / 2, H - 10 - kLabel / 2, c.x_label, kLabel, 1));
  if (!c.y_label.empty()) {
    Prim t = text_prim(14 + kLabel / 2, (top + bottom) / 2, c.y_label, kLabel, 1);
    t.vertical = true;
    out.push_back(t);
  }
  for (const Marker& m : c.markers)
    out.push_back(line_prim({px(m.x), top, px(m.x), bottom}, m.color, 1.5, true));
  std::vector<std::pair<double, double>> pts;  // for legend placement
  for (const Series& s : c.series) {
    std::vector<double> run;
    auto flush = [&]() {
      if (run.size() >= 4) out.push_back(line_prim(run, s.color, 2, s.dashed));
      run.clear();
    };
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      const double y = ty(s.y[i]);
      if (!std::isfinite(s.x[i]) || !std::isfinite(y)) {
        flush();
        continue;
      }
      run.push_back(px(s.x[i]));
      run.push_back(py(y));
      pts.emplace_back(px(s.x[i]), py(y));
      if (s.markers || s.x.size() == 1) {
        Prim d;
        d.kind = Prim::kDot;
        d.xy = {px(s.x[i]), py(y)};
        d.color = s.color;
        d.width = 3.5;
        out.push_back(d);
      }
    }
    flush();
  }
  for (const Marker& m : c.markers) {
    if (m.label.empty()) continue;
    // On a white box over the curves, right of the line unless that leaves the plot.
    const double w = measure(m.label, kTick) + 6;
    const double bx = px(m.x) + 3 + w <= right ? px(m.x) + 3 : px(m.x) - 3 - w;
    Prim box;
    box.kind = Prim::kRect;
    box.xy = {bx, top + 3, w, kTick + 6};
    box.filled = true;
    box.width = 0;
    out.push_back(box);
    out.push_back(text_prim(bx + 3, top + 6 + kTick / 2, m.label, kTick, 0, m.color));
  }
  Prim frame;
  frame.kind = Prim::kRect;
  frame.xy = {left, top, right - left, bottom - top};
  frame.color = axis;
  frame.width = 1;
  out.push_back(frame);

  // Legend in the inside corner that covers the fewest data points.
  std::vector<const Series*> named;
  for (const Series& s : c.series)
    if (!s.name.empty()) named.push_back(&s);
  if (!named.empty()) {
    double tw = 0;
    for (const Series* s : named) tw = std::max(tw, measure(s->name, kTick));
    const double row = kTick + 9, lw = tw + 48, lh = row * named.size() + 10;
    double best_x = right - lw - 10, best_y = top + 10;
    size_t best_n = SIZE_MAX;
    for (int corner = 0; corner < 4; ++corner) {
      const double lx = corner % 2 ? left + 10 : right - lw - 10;
      const double ly = corner < 2 ? top + 10 : bottom - lh - 10;
      size_t n = 0;
      for (auto& p : pts) n += p.first >= lx - 4 && p.first <= lx + lw + 4 && p.second >= ly - 4 && p.second <= ly + lh + 4;
      if (n < best_n) best_n = n, best_x = lx, best_y = ly;
    }
    Prim box;
    box.kind = Prim::kRect;
    box.xy = {best_x, best_y, lw, lh};
    box.filled = true;
    box.color = {170, 170, 170};
    box.width = 1;
    out.push_back(box);
    for (size_t i = 0; i < named.size(); ++i) {
      const double yy = best_y + 5 + row * (i + 0.5);
      out.push_back(line_prim({best_x + 8, yy, best_x + 34, yy}, named[i]->color, 3, named[i]->dashed));
      out.push_back(text_prim(best_x + 40, yy, named[i]->name, kTick, 0));
    }
  }
  return out;
}

}  // namespace dr::eval
