// Plots and visualizations: ticks, the metrics log, SVG/PNG charts, canvas text and PNG
// round trip, boxes drawn on images.
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "eval/chart.h"
#include "eval/coco_data.h"
#include "eval/metrics_log.h"
#include "eval/visualize.h"
#include "tests/testing.h"

using namespace dr::eval;

namespace {

int count_color(const Canvas& c, Rgb want) {
  int n = 0;
  for (int y = 0; y < c.height(); ++y)
    for (int x = 0; x < c.width(); ++x) {
      Rgb p = c.get(x, y);
      n += p.r == want.r && p.g == want.g && p.b == want.b;
    }
  return n;
}

std::string tmp_dir() {
  std::system("mkdir -p build/test_tmp");
  return "build/test_tmp";
}

}  // namespace

TEST_CASE("plot: nice ticks and labels") {
  CHECK(nice_ticks(0, 1) == std::vector<double>{0, 0.2, 0.4, 0.6000000000000001, 0.8, 1});
  auto t = nice_ticks(0.45, 0.9, 8);
  REQUIRE(t.size() >= 2);
  CHECK(t.front() <= 0.45);
  CHECK(t.back() >= 0.9);
  CHECK(t[1] == doctest::Approx(0.5));  // step 0.1
  CHECK(tick_label(t[1], t[1] - t[0]) == "0.5");
  CHECK(tick_label(0.45, 0.05) == "0.45");  // step 0.05 -> two decimals
  auto flat = nice_ticks(3, 3);
  CHECK(flat.front() < 3);
  CHECK(flat.back() > 3);
  auto neg = nice_ticks(-7, 12000);
  CHECK(neg.front() <= -7);
  CHECK(neg.back() >= 12000);
  CHECK(tick_label(12000, 2000) == "12000");
  CHECK(tick_label(0.0001, 0.00005) == "0.0001");
  CHECK(tick_label(0, 0.1) == "0");
}

TEST_CASE("plot: metrics log parsing and the charts it yields") {
  const std::string log =
      "{\"epoch\": 1, \"step\": 10, \"loss\": 2.0, \"loss_classifier\": 1.0, \"loss_box_reg\": 0.5,"
      " \"loss_objectness\": 0.3, \"loss_rpn_box_reg\": 0.2, \"lr\": 0.0001}\n"
      "\n"
      "{\"epoch\": 1, \"step\": 20, \"loss\": 1.5, \"lr\": 0.02, \"note\": \"text is ignored\"}\n"
      "{\"epoch\": 1, \"val_map\": 0.3, \"val_acc\": 0.5}\n"
      "{\"epoch\": 2, \"val_map\": 0.4, \"val_acc\": 0.6}\n";
  auto recs = parse_metrics_log(log, "m.jsonl");
  REQUIRE(recs.size() == 4);
  CHECK(recs[1].line == 3);
  CHECK(!recs[1].has("note"));
  auto charts = training_charts(recs);
  REQUIRE(charts.size() == 3);
  CHECK(charts[0].name == "loss");
  CHECK(charts[0].chart.series.size() == 5);
  CHECK(charts[0].chart.series[0].x == std::vector<double>{10, 20});
  CHECK(charts[1].name == "lr");
  CHECK(charts[1].chart.log_y);  // 1e-4 .. 2e-2 spans two decades
  CHECK(charts[2].name == "val");
  CHECK(charts[2].chart.series.size() == 2);
  CHECK(charts[2].chart.series[1].y == std::vector<double>{0.5, 0.6});
  CHECK_THROWS_WITH_AS(parse_metrics_log("{\"a\": 1}\n[1, 2]\n", "m.jsonl"),
                       doctest::Contains("m.jsonl:2: each line must be a JSON object"), dr::Error);
  CHECK_THROWS_WITH_AS(parse_metrics_log("{\"a\": 1\n", "m.jsonl"),
                       doctest::Contains("m.jsonl:1: not a JSON object"), dr::Error);
}

TEST_CASE("plot: metrics records appended by the writer read back") {
  const std::string path = tmp_dir() + "/appended.jsonl";
  std::remove(path.c_str());
  append_metrics_record(path, {{"epoch", 1}, {"step", 100}, {"loss", 0.75}, {"lr", 0.01}});
  append_metrics_record(path, {{"epoch", 1}, {"val_map", 0.25}, {"val_acc", NAN}});
  const std::string text = read_text_file(path);
  CHECK(text.rfind("{\"epoch\":1,\"step\":100,\"loss\":0.75,\"lr\":0.01}\n", 0) == 0);
  auto recs = read_metrics_log(path);
  REQUIRE(recs.size() == 2);
  CHECK(recs[0].get("step") == 100);
  CHECK(recs[1].get("val_map") == 0.25);
  CHECK(!recs[1].has("val_acc"));
}

TEST_CASE("plot: SVG and PNG charts") {
  Chart c;
  c.title = "Loss <&> test";
  c.x_label = "step";
  c.y_label = "loss";
  c.series.push_back({"total", {0, 1, 2, 3}, {3, 2, NAN, 1}, palette(3)});
  c.series.push_back({"part", {0, 3}, {1, 0.5}, palette(0), true, true});
  c.markers.push_back({1.5, "best", {90, 90, 90}});
  const std::string svg = chart_svg(c);
  CHECK(svg.rfind("<svg", 0) == 0);
  CHECK(svg.find("</svg>") != std::string::npos);
  CHECK(svg.find("Loss &lt;&amp;&gt; test") != std::string::npos);
  CHECK(svg.find(">total</text>") != std::string::npos);
  CHECK(svg.find("stroke-dasharray") != std::string::npos);
  Canvas png = chart_png(c, 640, 400);
  CHECK(png.width() == 640);
  CHECK(png.get(2, 2).r == 255);                 // white background
  CHECK(count_color(png, palette(3)) > 100);     // the total line
  CHECK(count_color(png, palette(0)) > 50);      // the dashed part line and its dots
  const std::string dir = tmp_dir();
  auto files = write_chart(c, dir + "/chart", "both");
  CHECK(files.size() == 2);
  Canvas back = Canvas::load(dir + "/chart.png");
  CHECK(back.pixels() == chart_png(c).pixels());
  CHECK_THROWS_AS(write_chart(c, dir + "/chart", "pdf"), dr::Error);
}

TEST_CASE("plot: canvas text, lines and PNG errors") {
  Canvas c(120, 60);
  c.text(2, 2, "0123456789", {0, 0, 0}, 2);
  CHECK(count_color(c, {0, 0, 0}) > 100);
  CHECK(Canvas::text_width("0123456789", 2) == 2 * Canvas::text_width("0123456789", 1));
  Canvas v(40, 120);
  v.text_vertical(2, 2, "score", {0, 0, 0}, 2);
  int max_x = 0, max_y = 0;
  for (int y = 0; y < v.height(); ++y)
    for (int x = 0; x < v.width(); ++x)
      if (v.get(x, y).r == 0) max_x = std::max(max_x, x), max_y = std::max(max_y, y);
  CHECK(max_y > max_x);  // taller than wide: rotated
  Canvas l(20, 20);
  l.line(0, 0, 19, 19, {255, 0, 0}, 1);
  for (int i = 0; i < 20; ++i) CHECK(l.get(i, i).g == 0);
  l.line(0, 0, 1e300, NAN, {0, 0, 255});  // non-finite: ignored, no crash
  CHECK_THROWS_WITH_AS(Canvas::load("/nonexistent.png"),
                       doctest::Contains("/nonexistent.png: cannot read image"), dr::Error);
}

TEST_CASE("plot: boxes drawn on an image, and a grid") {
  Canvas img(50, 20, {128, 128, 128});
  GtAnnotation g{1, 7, 4, {5, 2, 10, 15}, 150, false};
  Detection d{7, 4, {6, 3, 10, 14}, 0.87};
  VisItem item{"7.png  truth 3  pred 3", {&g}, {&d}};
  Canvas out = draw_boxes(img, item, VisLayout{200, 100, 4});
  CHECK(out.width() >= 200);
  CHECK(count_color(out, kGtColor) > 50);
  CHECK(count_color(out, kPredColor) > 50);
  Canvas grid = make_grid({out, out, out}, 2);
  CHECK(grid.width() > 2 * out.width());
  CHECK(grid.height() > 2 * out.height());
}
