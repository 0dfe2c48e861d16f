// infer: runs a converted Faster R-CNN weight file over a folder of images and writes
// OUT/pred.json (every detection, COCO results format) and OUT/pred.csv (the digit string
// of each image). Run with --help; formats and examples in docs/INFER.md.
#include <cblas.h>
#include <omp.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "data/image.h"
#include "data/image_list.h"
#include "data/progress.h"
#include "detector/faster_rcnn.h"
#include "eval/pred_writer.h"
#include "kernels/error.h"
#include "nn/weights.h"
#include "tools/cli.h"

using namespace dr;

namespace {

const char* kUsage =
    "usage: infer --weights FILE --images DIR --out DIR [options]\n"
    "       infer --weights FILE --coco FILE.json [--images DIR] --out DIR [options]\n"
    "\n"
    "Runs a Faster R-CNN weight file (tools/convert_weights.py, or a checkpoint of ours) on\n"
    "every image and writes OUT/pred.json and OUT/pred.csv (docs/INFER.md).\n"
    "\n"
    "  --weights FILE      flat weight file; its meta.config says which model it is\n"
    "  --images DIR        folder of .png/.jpg/.jpeg/.bmp; image ids are the file stems\n"
    "                      (\"123.png\" -> 123; a stem that is not a number is kept as a string)\n"
    "  --coco FILE.json    take the images and their ids from a COCO JSON's \"images\" list\n"
    "                      (files under --images, default the JSON's path without .json)\n"
    "  --out DIR           output folder (created); pred.json + pred.csv are replaced atomically\n"
    "  --score-thresh T    pred.csv uses the detections with score >= T (default 0.5);\n"
    "                      pred.json keeps every detection the model returns (its\n"
    "                      box_score_thresh, 0.05 unless the config says otherwise)\n"
    "  --digit-nms IOU     pred.csv: of detections of any digits that overlap at IoU > IOU,\n"
    "                      only the highest-scoring one is read (default 0.3; 1: off)\n"
    "  --batch-size N      images per forward (default 8; the model pads a batch to its\n"
    "                      largest image)\n"
    "  --min-size N        resize so the short side is N (default: the weight file's config)\n"
    "  --max-size N        ... unless the long side would exceed N (default: the config)\n"
    "  --device D          auto (default: cuda when a GPU is visible, else cpu), cpu, cuda\n"
    "  --threads N         CPU threads for OpenMP and OpenBLAS (default: all cores)\n"
    "  --on-error MODE     an unreadable image: skip (default: warn naming the file, leave it\n"
    "                      out of both files, go on) or stop (error naming the file)\n"
    "  --limit N           only the first N images (in id order), for quick runs\n"
    "  --quiet             no progress bar\n"
    "\n"
    "pred.json: [{\"image_id\", \"category_id\", \"bbox\": [x, y, w, h], \"score\"}, ...] in original\n"
    "pixels; category_id is the model's class label (digit + 1 for an 11-class digit model).\n"
    "pred.csv: image_id,pred_label - the digits (label - 1) of the detections >= the threshold,\n"
    "after --digit-nms, left to right by box center x (eval/digits.h's rule), -1 when there are\n"
    "none.\n";

struct Args {
  std::string weights, images, coco, out;
  double score_thresh = 0.5;
  double digit_nms = eval::kDigitNmsIou;
  int batch_size = 8, min_size = 0, max_size = 0, threads = 0;
  int64_t limit = 0;
  std::string device = "auto", on_error = "skip";
  bool quiet = false;
};

Args parse(int argc, char** argv) {
  Args a;
  for (cli::ArgWalker w(argc, argv, kUsage); w.next();) {
    if (w.is("--weights")) a.weights = w.value();
    else if (w.is("--images")) a.images = w.value();
    else if (w.is("--coco")) a.coco = w.value();
    else if (w.is("--out")) a.out = w.value();
    else if (w.is("--score-thresh")) a.score_thresh = w.double_value();
    else if (w.is("--digit-nms")) a.digit_nms = w.double_value();
    else if (w.is("--batch-size")) a.batch_size = static_cast<int>(w.int_value(1));
    else if (w.is("--min-size")) a.min_size = static_cast<int>(w.int_value(1));
    else if (w.is("--max-size")) a.max_size = static_cast<int>(w.int_value(1));
    else if (w.is("--threads")) a.threads = static_cast<int>(w.int_value(1));
    else if (w.is("--limit")) a.limit = w.int_value(1);
    else if (w.is("--device")) a.device = w.value();
    else if (w.is("--on-error")) a.on_error = w.value();
    else if (w.is("--quiet")) a.quiet = true;
    else w.unknown();
  }
  DR_CHECK(!a.weights.empty(), "--weights is required (see --help)");
  DR_CHECK(!a.images.empty() || !a.coco.empty(), "--images or --coco is required (see --help)");
  DR_CHECK(!a.out.empty(), "--out is required (see --help)");
  DR_CHECK(a.digit_nms >= 0 && a.digit_nms <= 1, "--digit-nms must be in [0, 1], got " << a.digit_nms);
  DR_CHECK(a.device == "auto" || a.device == "cpu" || a.device == "cuda",
           "--device must be auto, cpu or cuda, got \"" << a.device << "\"");
  DR_CHECK(a.on_error == "skip" || a.on_error == "stop",
           "--on-error must be skip or stop, got \"" << a.on_error << "\"");
  return a;
}

Device pick_device(const std::string& want) {
  if (want == "cpu") return Device::cpu();
  if (want == "auto") return cuda_available() ? Device::cuda(0) : Device::cpu();
  DR_CHECK(DR_CUDA, "--device cuda: this binary was built without CUDA (GPU=0); rebuild with "
                    "nvcc present, or use --device cpu");
  DR_CHECK(cuda_available(), "--device cuda: no CUDA device is visible (driver missing, "
                             "CUDA_VISIBLE_DEVICES empty, or no GPU); use --device cpu");
  return Device::cuda(0);
}

void make_dirs(const std::string& dir) {
  for (size_t p = 1; p <= dir.size(); ++p) {
    if (p < dir.size() && dir[p] != '/') continue;
    const std::string sub = dir.substr(0, p);
    struct stat st;
    if (stat(sub.c_str(), &st) == 0) {
      DR_CHECK(S_ISDIR(st.st_mode), "--out: " << sub << " exists and is not a folder");
      continue;
    }
    DR_CHECK(mkdir(sub.c_str(), 0755) == 0, "--out: cannot create folder " << sub);
  }
}

// The weight file, checked to be a whole model, and its config with the size overrides.
ModelConfig read_model(const Args& a, TensorFile& tf) {
  tf = read_tensor_file(a.weights);  // a non-weight file fails here, naming it
  const auto& meta = tf.meta;
  DR_CHECK(meta.is_object() && meta.contains("config") && meta["config"].is_object(),
           a.weights << ": no model config in the file's header (meta.config); not a weight "
                        "file of tools/convert_weights.py or of training?");
  DR_CHECK(meta.value("scope", std::string("model")) == "model",
           a.weights << ": holds only the " << meta.value("scope", std::string()) << " (scope \""
                     << meta.value("scope", std::string()) << "\"), not a whole detector");
  ModelConfig cfg;
  try {
    cfg = ModelConfig::from_json(meta["config"]);
    if (a.min_size) cfg.min_size = a.min_size;
    if (a.max_size) cfg.max_size = a.max_size;
    cfg.validate();
  } catch (const Error& e) {
    DR_FAIL(a.weights << ": bad model config: " << e.what());
  }
  return cfg;
}

// One batch decoded (on a helper thread while the model runs the previous one).
struct Decoded {
  std::vector<size_t> index;  // into the image list
  std::vector<data::Image> images;
  std::vector<std::pair<size_t, std::string>> failed;  // index, reason
};

Decoded decode_batch(const std::vector<data::ImageRef>& refs, size_t begin, size_t end) {
  Decoded d;
  for (size_t i = begin; i < end; ++i) {
    try {
      d.images.push_back(data::read_image(refs[i].path));
      d.index.push_back(i);
    } catch (const std::exception& e) {  // dr::Error from the decoder, or bad_alloc
      d.failed.emplace_back(i, e.what());
    }
  }
  return d;
}

std::vector<eval::LabeledBox> to_labeled(Context& ctx, const Detections& det) {
  const Tensor boxes = ctx.to_host(det.boxes), scores = ctx.to_host(det.scores),
               labels = ctx.to_host(det.labels);
  const int64_t k = scores.numel();
  const float* b = boxes.data<float>();
  std::vector<eval::LabeledBox> out(static_cast<size_t>(k));
  for (int64_t j = 0; j < k; ++j) {
    const double x1 = b[4 * j], y1 = b[4 * j + 1], x2 = b[4 * j + 2], y2 = b[4 * j + 3];
    out[j].bbox = {x1, y1, x2 - x1, y2 - y1};
    out[j].score = scores.data<float>()[j];
    out[j].label = labels.data<int64_t>()[j];
  }
  return out;
}

int run(const Args& a) {
  if (a.threads > 0) {
    omp_set_num_threads(a.threads);
    openblas_set_num_threads(a.threads);
  }
  const Device device = pick_device(a.device);
  TensorFile tf;
  const ModelConfig cfg = read_model(a, tf);

  std::vector<data::ImageRef> refs =
      a.coco.empty() ? data::list_image_folder(a.images) : data::list_coco_images(a.coco, a.images);
  if (a.limit > 0 && static_cast<size_t>(a.limit) < refs.size()) refs.resize(a.limit);

  Context ctx(device);
  FasterRCNN model(ctx, cfg);
  load_weights(ctx, model, tf);  // strict: the error names the file and lists the tensors
  model.train(false);
  tf = TensorFile();  // the host copy of the weights is no longer needed

  std::fprintf(stderr, "[infer] %s: %s %s, %d classes, sizes %d/%d, device %s; %zu images\n",
               a.weights.c_str(), cfg.arch.c_str(), cfg.backbone.c_str(), cfg.num_classes,
               cfg.min_size, cfg.max_size, device.is_cuda() ? "cuda" : "cpu", refs.size());
  if (cfg.num_classes != 11)
    std::fprintf(stderr,
                 "[infer] warning: the model has %d classes, not 11: pred.json keeps its labels "
                 "as category_id, but pred.csv assumes a digit model (labels 1..10 = digits "
                 "0..9) and leaves other labels out of the strings\n",
                 cfg.num_classes);

  make_dirs(a.out);
  eval::PredictionWriter writer(a.out, a.score_thresh, a.digit_nms);
  const auto start = std::chrono::steady_clock::now();
  std::unique_ptr<Progress> progress;
  if (!a.quiet) progress = std::make_unique<Progress>("infer", static_cast<int64_t>(refs.size()), "img");
  const size_t bs = static_cast<size_t>(a.batch_size);
  std::vector<std::string> skipped;
  auto launch = [&](size_t begin) {
    return std::async(std::launch::async, decode_batch, std::cref(refs), begin,
                      std::min(refs.size(), begin + bs));
  };
  std::future<Decoded> next = launch(0);
  for (size_t begin = 0; begin < refs.size(); begin += bs) {
    Decoded cur = next.get();
    if (begin + bs < refs.size()) next = launch(begin + bs);
    for (auto& [i, why] : cur.failed) {
      if (a.on_error == "stop") {
        if (next.valid()) next.wait();
        DR_FAIL("unreadable image " << refs[i].path << ": " << why
                                    << " (--on-error skip leaves it out and goes on)");
      }
      std::fprintf(stderr, "\n[infer] warning: skipping unreadable image %s: %s\n",
                   refs[i].path.c_str(), why.c_str());
      skipped.push_back(refs[i].path);
    }
    std::vector<std::vector<eval::LabeledBox>> per_image(cur.images.size());
    if (!cur.images.empty()) {
      std::vector<Tensor> batch;
      for (const data::Image& im : cur.images) batch.push_back(ctx.to(data::to_tensor(im), device));
      const std::vector<Detections> dets = model.detect(ctx, batch);
      for (size_t k = 0; k < dets.size(); ++k) per_image[k] = to_labeled(ctx, dets[k]);
    }
    // Rows in list order: skipped images simply have none.
    for (size_t k = 0; k < cur.index.size(); ++k)
      writer.add(refs[cur.index[k]].id.text, refs[cur.index[k]].id.numeric, per_image[k]);
    if (progress) progress->set(static_cast<int64_t>(std::min(refs.size(), begin + bs)));
  }
  DR_CHECK(writer.images() > 0, "none of the " << refs.size() << " images could be read");
  writer.finish();
  if (progress) progress->finish();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "[infer] %lld images, %lld detections in %.1f s (%.1f images/s) -> %s, %s\n",
               static_cast<long long>(writer.images()), static_cast<long long>(writer.detections()),
               secs, secs > 0 ? writer.images() / secs : 0.0, writer.json_path().c_str(),
               writer.csv_path().c_str());
  if (writer.non_digit() > 0)
    std::fprintf(stderr, "[infer] warning: %lld detections >= %g had a label outside 1..10 and are "
                         "not in pred.csv\n",
                 static_cast<long long>(writer.non_digit()), a.score_thresh);
  if (!skipped.empty())
    std::fprintf(stderr, "[infer] warning: %zu unreadable image(s) skipped (no pred.json entries, "
                         "no pred.csv row), first: %s\n",
                 skipped.size(), skipped.front().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse(argc, argv));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "infer: error: %s\n", e.what());
    return 1;
  }
}
