// train: trains a Faster R-CNN on a COCO-layout data set (train/trainer.h). Settings come
// from a JSON recipe (--config configs/NAME.json) with flags on top; --help lists them;
// docs/TRAIN.md explains the recipes, the files a run writes and resuming.
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/error.h"
#include "tools/cli.h"
#include "train/step.h"
#include "train/trainer.h"

using namespace dr;

namespace {

const char* kUsage =
    "usage: train --train-json F [--train-images DIR] [--valid-json F] [options]\n"
    "       train --config configs/digit_cpu.json --train-json F --valid-json F --out DIR\n"
    "       train --resume --out DIR            (continue the run in DIR from DIR/last.ckpt)\n"
    "\n"
    "Trains a Faster R-CNN (v1/v2, torchvision-compatible) and writes into --out: metrics.jsonl,\n"
    "last.ckpt, best.ckpt, best.weights.bin, final.weights.bin (run them with `infer`),\n"
    "settings.json and plots/ (docs/TRAIN.md). Ctrl-C (or SIGTERM) finishes the current step,\n"
    "writes last.ckpt and exits with 130 (143); --resume continues bit for bit.\n"
    "\n"
    "Settings (a flag overrides the recipe's key of the same name with '-' -> '_'):\n"
    "  --config FILE            JSON recipe (configs/*.json); flags given override it\n"
    "  --resume                 continue OUT/last.ckpt with its saved settings (flags may change\n"
    "                           paths, device, threads, workers, max-iters, logging only)\n"
    " data\n"
    "  --train-images DIR --train-json F   training split (images default: F without .json)\n"
    "  --valid-images DIR --valid-json F   validation split (none: no validation, no best.*)\n"
    "  --batch-size N           images a batch (default 2)\n"
    "  --valid-batch-size N     images a validation batch (default 4)\n"
    "  --workers N              loader threads decoding/augmenting ahead (default 1)\n"
    "  --augment PRESET         none | seed000 | seed001 | all (data/augment.h; default none)\n"
    "  --no-augment-last N      no augmentation in the last N epochs (default 0)\n"
    "  --fixed-size HxW         resize every image to H x W first (e.g. 256x256)\n"
    " model (defaults: torchvision's; num_classes from the data: 11 for digits)\n"
    "  --arch v1|v2             fasterrcnn_resnet50_fpn (v1) or _v2 layout\n"
    "  --backbone NAME          resnet18|34|50|101, resnext50_32x4d, resnext101_32x8d\n"
    "  --res-fpn                residual block after each FPN level\n"
    "  --body-norm batch|frozen the body's norm (v1 default frozen, v2 batch)\n"
    "  --trainable-layers N     body stages trained, counted from layer4 (0..5)\n"
    "  --min-size N --max-size N   the model's resize (short side N, long side at most N)\n"
    "  --num-classes N          classes including background\n"
    "  --anchors auto|S1,..,S5  auto: k-means on the training boxes at the model's scale\n"
    "                           (data/anchors.h); or one size per FPN level\n"
    "  --anchor-sizes S1,..,S5  the same as --anchors with sizes (as `dataset stats` prints)\n"
    "  --aspect-ratios R1,..    h/w ratios shared by the levels\n"
    "  --rpn-batch-size N       anchors sampled an image for the RPN loss (torchvision 256)\n"
    "  --box-batch-size N       RoIs sampled an image for the box losses (torchvision 512)\n"
    "  --rpn-pre-nms-train N --rpn-post-nms-train N   proposals kept in training (2000/2000)\n"
    "  --rpn-pre-nms-test N --rpn-post-nms-test N     ... in evaluation (1000/1000)\n"
    "  --finetune FILE          start from a weight file (tools/convert_weights.py or ours); the\n"
    "                           box predictor is re-initialized when the class count differs;\n"
    "                           the model settings default to the file's config\n"
    " optimization\n"
    "  --optimizer sgd|adam|adamw  (default adam)\n"
    "  --lr X                   the heads' learning rate (default 1e-4)\n"
    "  --backbone-lr-mult X     the body's lr = lr * X (layer-wise lr; default 1)\n"
    "  --weight-decay X         (default 0)\n"
    "  --no-decay-norm-bias     no weight decay on BatchNorm weights/biases and biases\n"
    "  --momentum X             sgd momentum (default 0.9)\n"
    "  --clip-grad-norm X       clip the global gradient norm to X (default 0: off)\n"
    "  --accumulate N           batches per optimizer step (default 1)\n"
    "  --epochs N               (default 10)\n"
    "  --schedule constant|cosine|multistep   per optimizer step (default cosine)\n"
    "  --warmup-epochs X        linear warmup (fractions allowed; default 0)\n"
    "  --warmup-start-factor X  lr factor at step 0 (default 0: from 0)\n"
    "  --eta-min X              cosine: the final lr (default 0)\n"
    "  --milestones E1,E2 --gamma X   multistep: lr *= gamma at these epochs\n"
    " run\n"
    "  --out DIR                the run's folder (default runs/train)\n"
    "  --seed N                 model init, sampling, shuffling, augmentation (default 0)\n"
    "  --device auto|cpu|cuda   (default auto)\n"
    "  --threads N              CPU threads (OpenMP + OpenBLAS; default all cores)\n"
    "  --score-thresh T         accuracy counts detections >= T (default 0.5)\n"
    "  --digit-nms IOU          ... reading one digit of those that overlap at IoU > IOU\n"
    "                           (default 0.3, as infer's pred.csv; 1: off)\n"
    "  --best-by map|accuracy   what best.ckpt / best.weights.bin keep (default map)\n"
    "  --max-iters N            stop after N optimizer steps in all (the schedule still spans\n"
    "                           --epochs); writes last.ckpt and final.weights.bin\n"
    "  --checkpoint-every N     last.ckpt every N steps (and at validated epochs and the end);\n"
    "                           default 0: at the end of every epoch\n"
    "  --log-every N            a metrics.jsonl line every N steps (default 1)\n"
    "  --valid-every N          validate every N epochs and after the last (default 1)\n"
    "\n"
    "Exit status: 0 done, 1 error, 3 NaN/Inf loss or gradient (the message names the iteration\n"
    "and the loss part; last.ckpt is the last good state), 128+signal when interrupted.\n";

// "1,2,3" -> [1, 2, 3] (numbers), naming the flag on error.
std::vector<double> number_list(const std::string& flag, const std::string& v) {
  std::vector<double> out;
  std::stringstream ss(v);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(cli::parse_double(flag, item));
  DR_CHECK(!out.empty(), flag << " needs a comma-separated list of numbers, got \"" << v << "\"");
  return out;
}

struct Args {
  nlohmann::json settings = nlohmann::json::object();  // recipe, then flags
  bool resume = false;
};

Args parse(int argc, char** argv) {
  Args a;
  nlohmann::json flags = nlohmann::json::object(), model = nlohmann::json::object();
  std::string config;
  // flag -> (settings key, kind): s string, i int >= 0, p int >= 1, d number, b switch
  struct Flag {
    const char* flag;
    const char* key;
    char kind;
    bool model;
  };
  static const Flag table[] = {
      {"--train-images", "train_images", 's', false}, {"--train-json", "train_json", 's', false},
      {"--valid-images", "valid_images", 's', false}, {"--valid-json", "valid_json", 's', false},
      {"--batch-size", "batch_size", 'p', false}, {"--valid-batch-size", "valid_batch_size", 'p', false},
      {"--workers", "workers", 'i', false}, {"--augment", "augment", 's', false},
      {"--no-augment-last", "no_augment_last", 'i', false}, {"--finetune", "finetune", 's', false},
      {"--optimizer", "optimizer", 's', false}, {"--lr", "lr", 'd', false},
      {"--weight-decay", "weight_decay", 'd', false}, {"--momentum", "momentum", 'd', false},
      {"--backbone-lr-mult", "backbone_lr_mult", 'd', false},
      {"--no-decay-norm-bias", "no_decay_norm_bias", 'b', false},
      {"--clip-grad-norm", "clip_grad_norm", 'd', false}, {"--accumulate", "accumulate", 'p', false},
      {"--epochs", "epochs", 'p', false}, {"--schedule", "schedule", 's', false},
      {"--warmup-epochs", "warmup_epochs", 'd', false},
      {"--warmup-start-factor", "warmup_start_factor", 'd', false},
      {"--eta-min", "eta_min", 'd', false}, {"--gamma", "gamma", 'd', false},
      {"--seed", "seed", 'i', false}, {"--device", "device", 's', false},
      {"--threads", "threads", 'i', false}, {"--out", "out", 's', false},
      {"--score-thresh", "score_thresh", 'd', false}, {"--digit-nms", "digit_nms", 'd', false},
      {"--best-by", "best_by", 's', false},
      {"--max-iters", "max_iters", 'i', false}, {"--checkpoint-every", "checkpoint_every", 'i', false},
      {"--log-every", "log_every", 'p', false}, {"--valid-every", "valid_every", 'p', false},
      {"--arch", "arch", 's', true}, {"--backbone", "backbone", 's', true},
      {"--res-fpn", "res_fpn", 'b', true}, {"--body-norm", "body_norm", 's', true},
      {"--trainable-layers", "trainable_layers", 'i', true}, {"--min-size", "min_size", 'p', true},
      {"--max-size", "max_size", 'p', true}, {"--num-classes", "num_classes", 'p', true},
      {"--rpn-batch-size", "rpn_batch_size_per_image", 'p', true},
      {"--box-batch-size", "box_batch_size_per_image", 'p', true},
      {"--rpn-pre-nms-train", "rpn_pre_nms_top_n_train", 'p', true},
      {"--rpn-post-nms-train", "rpn_post_nms_top_n_train", 'p', true},
      {"--rpn-pre-nms-test", "rpn_pre_nms_top_n_test", 'p', true},
      {"--rpn-post-nms-test", "rpn_post_nms_top_n_test", 'p', true},
  };
  for (cli::ArgWalker w(argc, argv, kUsage); w.next();) {
    if (w.is("--config")) {
      config = w.value();
      continue;
    }
    if (w.is("--resume")) {
      a.resume = true;
      continue;
    }
    if (w.is("--fixed-size")) {
      const std::string v = w.value();
      const size_t x = v.find('x');
      const int64_t h = cli::parse_int("--fixed-size", v.substr(0, x), 1);
      const int64_t wd = x == std::string::npos ? h : cli::parse_int("--fixed-size", v.substr(x + 1), 1);
      flags["fixed_size"] = {h, wd};
      continue;
    }
    if (w.is("--milestones")) {
      std::vector<int> m;
      for (double d : number_list("--milestones", w.value())) m.push_back(static_cast<int>(d));
      flags["milestones"] = m;
      continue;
    }
    if (w.is("--anchors") || w.is("--anchor-sizes")) {
      const std::string v = w.value();
      if (v == "auto") {
        flags["anchors"] = "auto";
        continue;
      }
      const std::vector<double> sizes = number_list(w.flag(), v);
      DR_CHECK(sizes.size() == 5, w.flag() << " needs 5 sizes (one per FPN level) or auto, got " << v);
      std::vector<std::vector<double>> per_level;
      for (double s : sizes) per_level.push_back({s});
      model["anchor_sizes"] = per_level;
      flags["anchors"] = "";
      continue;
    }
    if (w.is("--aspect-ratios")) {
      const std::vector<double> r = number_list("--aspect-ratios", w.value());
      model["aspect_ratios"] = std::vector<std::vector<double>>(5, r);
      continue;
    }
    const Flag* f = nullptr;
    for (const Flag& t : table)
      if (w.is(t.flag)) f = &t;
    if (!f) w.unknown();
    nlohmann::json& dst = f->model ? model : flags;
    switch (f->kind) {
      case 's': dst[f->key] = w.value(); break;
      case 'i': dst[f->key] = w.int_value(0); break;
      case 'p': dst[f->key] = w.int_value(1); break;
      case 'd': dst[f->key] = w.double_value(); break;
      case 'b': dst[f->key] = true; break;
    }
  }
  if (!config.empty()) a.settings = train::read_recipe(config);
  // The recipe's own "model" merges with the flags' model keys.
  if (!model.empty()) {
    if (!a.settings.contains("model")) a.settings["model"] = nlohmann::json::object();
    DR_CHECK(a.settings["model"].is_object(), config << ": \"model\" must be an object");
    a.settings["model"].update(model);
  }
  for (auto it = flags.begin(); it != flags.end(); ++it) a.settings[it.key()] = it.value();
  return a;
}

int run(const Args& a) {
  train::TrainOutcome o;
  if (a.resume) {
    train::TrainSettings defaults;
    const std::string out = a.settings.value("out", defaults.out);
    o = train::resume(out, a.settings);
  } else {
    train::TrainSettings s;
    train::apply_settings_json(s, a.settings, "settings");
    o = train::train(s);
  }
  if (o.stop == train::TrainOutcome::Stop::Interrupted) return 128 + o.signal;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse(argc, argv));
  } catch (const NonFiniteError& e) {
    std::fprintf(stderr, "\ntrain: stopped: %s\n", e.what());
    return 3;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "\ntrain: error: %s\n", e.what());
    return 1;
  }
}
