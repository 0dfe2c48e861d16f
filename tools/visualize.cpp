// visualize: predicted and ground-truth boxes drawn on images, as one PNG per image and/or
// one grid PNG, for chosen images or the worst ones by whole-number error. See --help.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <sys/stat.h>

#include "eval/coco_data.h"
#include "eval/digits.h"
#include "eval/pred_csv.h"
#include "eval/visualize.h"
#include "kernels/error.h"
#include "tools/cli.h"

using namespace dr::eval;

namespace {

const char* kUsage =
    "usage: visualize --gt GT.json --images DIR [--pred pred.json] [--csv pred.csv]\n"
    "                 [--ids 12,40,7 | --worst N | --first N] [--threshold 0.5]\n"
    "                 [--out DIR] [--grid FILE.png] [--cols 4]\n"
    "\n"
    "  Draws ground-truth boxes (green, digit below) and the pred.json boxes with score >=\n"
    "  --threshold (red, \"digit score\" above) on the images of --images (file_name from GT).\n"
    "  The header of each image shows the true string, the predicted string (pred.csv when\n"
    "  given, else from pred.json at the threshold, read with --digit-nms IOU as infer's\n"
    "  pred.csv: default 0.3, 1: off) and the error kind.\n"
    "  --ids      these image ids\n"
    "  --worst N  the N wrong images with the largest edit distance (default: 16)\n"
    "  --first N  the first N images of the ground truth\n"
    "  --out DIR  one PNG per image: DIR/<image id>.png\n"
    "  --grid F   all selected images in one PNG grid (--cols per row)\n";

struct Args {
  std::string gt, images, pred, csv, out, grid, ids;
  int worst = -1, first = -1, cols = 4;
  double threshold = 0.5;
  double digit_nms = kDigitNmsIou;
};

Args parse(int argc, char** argv) {
  Args a;
  for (dr::cli::ArgWalker w(argc, argv, kUsage); w.next();) {
    if (w.is("--gt")) a.gt = w.value();
    else if (w.is("--images")) a.images = w.value();
    else if (w.is("--pred")) a.pred = w.value();
    else if (w.is("--csv")) a.csv = w.value();
    else if (w.is("--out")) a.out = w.value();
    else if (w.is("--grid")) a.grid = w.value();
    else if (w.is("--ids")) a.ids = w.value();
    else if (w.is("--worst")) a.worst = static_cast<int>(w.int_value(0));
    else if (w.is("--first")) a.first = static_cast<int>(w.int_value(0));
    else if (w.is("--cols")) a.cols = static_cast<int>(w.int_value(1));
    else if (w.is("--threshold")) a.threshold = w.double_value();
    else if (w.is("--digit-nms")) a.digit_nms = w.double_value();
    else w.unknown();
  }
  DR_CHECK(!a.gt.empty() && !a.images.empty(), "--gt and --images are required (see --help)");
  DR_CHECK(a.digit_nms >= 0 && a.digit_nms <= 1, "--digit-nms must be in [0, 1], got " << a.digit_nms);
  DR_CHECK(!a.out.empty() || !a.grid.empty(), "give --out DIR and/or --grid FILE.png");
  if (a.ids.empty() && a.first < 0 && a.worst < 0) a.worst = 16;
  return a;
}

int run(const Args& a) {
  CocoGroundTruth gt = read_coco_gt(a.gt);
  std::vector<Detection> dets;
  if (!a.pred.empty()) dets = read_detections(a.pred, gt);
  const std::vector<std::string> truth = gt_strings(gt);
  std::vector<std::string> pred = a.csv.empty() ? predicted_strings(gt, dets, a.threshold, a.digit_nms)
                                                : read_pred_csv(a.csv, gt).labels;
  const bool have_pred = !a.csv.empty() || !a.pred.empty();
  AccuracyReport rep = score_strings(gt, truth, pred);

  std::vector<size_t> chosen;  // indices into gt.images
  if (!a.ids.empty()) {
    std::stringstream ss(a.ids);
    std::string tok;
    while (std::getline(ss, tok, ',')) {
      char* end = nullptr;
      long long id = std::strtoll(tok.c_str(), &end, 10);
      DR_CHECK(!tok.empty() && *end == '\0', "--ids: \"" << tok << "\" is not an integer id");
      auto it = gt.image_index.find(id);
      DR_CHECK(it != gt.image_index.end(), "--ids: image id " << id << " is not in " << a.gt);
      chosen.push_back(it->second);
    }
  } else if (a.first >= 0) {
    for (size_t i = 0; i < gt.images.size() && static_cast<int>(i) < a.first; ++i) chosen.push_back(i);
  } else {
    DR_CHECK(have_pred, "--worst needs --pred or --csv");
    for (size_t i = 0; i < gt.images.size(); ++i)
      if (rep.outcomes[i].kind != ErrorKind::kCorrect) chosen.push_back(i);
    std::stable_sort(chosen.begin(), chosen.end(), [&](size_t x, size_t y) {
      return rep.outcomes[x].edit_distance > rep.outcomes[y].edit_distance;
    });
    if (static_cast<int>(chosen.size()) > a.worst) chosen.resize(a.worst);
    std::printf("%zu wrong images; drawing the %zu worst\n",
                static_cast<size_t>(rep.images - rep.correct), chosen.size());
  }
  DR_CHECK(!chosen.empty(), "no images selected");

  std::vector<std::vector<const GtAnnotation*>> gts(gt.images.size());
  std::vector<std::vector<const Detection*>> ds(gt.images.size());
  for (const GtAnnotation& g : gt.annotations) gts[gt.image_index.at(g.image_id)].push_back(&g);
  for (const Detection& d : dets)
    if (d.score >= a.threshold) ds[gt.image_index.at(d.image_id)].push_back(&d);

  if (!a.out.empty()) mkdir(a.out.c_str(), 0755);
  std::vector<Canvas> tiles;
  for (size_t i : chosen) {
    const ImageInfo& im = gt.images[i];
    DR_CHECK(!im.file_name.empty(), a.gt << ": image " << im.id << " has no file_name");
    Canvas image = Canvas::load(a.images + "/" + im.file_name);
    VisItem item;
    item.header = im.file_name + "  truth " + truth[i];
    if (have_pred) {
      // An untrained model can read 100 digits: keep the header one tile wide.
      const std::string& p = pred[i];
      item.header += "  pred " + (p.size() <= 12 ? p : p.substr(0, 10) + "..(" +
                                                          std::to_string(p.size()) + ")");
      if (rep.outcomes[i].kind != ErrorKind::kCorrect)
        item.header += std::string("  ") + error_kind_name(rep.outcomes[i].kind);
    }
    item.gts = gts[i];
    item.dets = ds[i];
    if (!a.out.empty()) {
      const std::string path = a.out + "/" + std::to_string(im.id) + ".png";
      draw_boxes(image, item, VisLayout{800, 400, 6}).write_png(path);
      std::printf("wrote %s\n", path.c_str());
    }
    if (!a.grid.empty()) tiles.push_back(draw_boxes(image, item, VisLayout{420, 200, 6}));
  }
  if (!a.grid.empty()) {
    make_grid(tiles, a.cols).write_png(a.grid);
    std::printf("wrote %s (%zu images)\n", a.grid.c_str(), tiles.size());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse(argc, argv));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "visualize: %s\n", e.what());
    return 1;
  }
}
