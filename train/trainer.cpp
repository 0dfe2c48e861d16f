// The training loop (train/trainer.h). Setup first (data, model, optimizer, resume),
// then the loop, which reads top to bottom as one optimizer step, then the end of an
// epoch (validation, checkpoints), then the end of the run.
#include "train/trainer.h"

#include <cblas.h>
#include <omp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <memory>
#include <new>
#include <sstream>

#include "data/anchors.h"
#include "data/aug_geometry.h"
#include "data/coco.h"
#include "data/loader.h"
#include "data/progress.h"
#include "detector/faster_rcnn.h"
#include "eval/chart.h"
#include "eval/coco_eval.h"
#include "eval/digits.h"
#include "eval/metrics_log.h"
#include "nn/weights.h"
#include "train/checkpoint.h"
#include "train/grad_clip.h"
#include "train/param_groups.h"
#include "train/schedule.h"
#include "train/step.h"

namespace dr::train {

// ---- stop requests (signal handlers can only set a flag) ----------------------------
namespace {
volatile std::sig_atomic_t g_stop_signal = 0;  // the one global: a signal handler needs it

extern "C" void on_stop_signal(int sig) {
  if (g_stop_signal != 0) {  // a second signal: stop now, the default way
    std::signal(sig, SIG_DFL);
    std::raise(sig);
    return;
  }
  g_stop_signal = sig;
}
}  // namespace

void install_stop_handlers() {
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
}
int stop_requested() { return static_cast<int>(g_stop_signal); }
void reset_stop_request() { g_stop_signal = 0; }

namespace {

using clock_type = std::chrono::steady_clock;
double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

void make_dirs(const std::string& dir) {
  for (size_t p = 1; p <= dir.size(); ++p) {
    if (p < dir.size() && dir[p] != '/') continue;
    const std::string sub = dir.substr(0, p);
    struct stat st;
    if (stat(sub.c_str(), &st) == 0) {
      DR_CHECK(S_ISDIR(st.st_mode), "out: " << sub << " exists and is not a folder");
      continue;
    }
    DR_CHECK(mkdir(sub.c_str(), 0755) == 0, "out: cannot create folder " << sub);
  }
}

bool file_exists(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0;
}

// path -> another name for the same file, replacing `name` atomically; false when the
// file system has no hard links.
bool link_atomically(const std::string& path, const std::string& name) {
  const std::string tmp = name + ".tmp";
  std::remove(tmp.c_str());
  if (link(path.c_str(), tmp.c_str()) != 0) return false;
  return std::rename(tmp.c_str(), name.c_str()) == 0;
}

Device pick_device(const std::string& want) {
  if (want == "cpu") return Device::cpu();
  if (want == "auto") return cuda_available() ? Device::cuda(0) : Device::cpu();
  DR_CHECK(DR_CUDA, "device cuda: this binary was built without CUDA (GPU=0); use --device cpu");
  DR_CHECK(cuda_available(), "device cuda: no CUDA device is visible; use --device cpu");
  return Device::cuda(0);
}

// Every sample resized to a fixed (h, w) before augmentation, in training and validation
// (a source wrapper, so the augmentation schedule never turns the resize off).
data::SampleSource fixed_size_source(data::SampleSource src, const std::vector<int>& hw) {
  if (hw.empty()) return src;
  auto resize = std::make_shared<data::FixedResize>(hw[0], hw[1]);
  auto inner = src.load;
  src.load = [inner, resize](size_t i) {
    data::Sample s = inner(i);
    Rng unused(0);  // FixedResize draws nothing
    resize->apply(s.image, s.boxes, unused);
    return s;
  };
  return src;
}

// The largest category id of the data set + 1 (11 for digits).
int data_classes(const data::CocoDataset& ds) {
  int top = 0;
  for (const auto& c : ds.categories) top = std::max(top, c.id);
  return top + 1;
}

// anchors "auto": k-means over the training boxes at the model's input scale, one size
// per FPN level and the three aspect-ratio quantiles (data/anchors.h).
void suggest_anchors_into(ModelConfig& cfg, const data::CocoDataset& ds, const std::vector<int>& fixed,
                          uint64_t seed) {
  std::vector<std::pair<float, float>> wh;
  for (const auto& im : ds.images) {
    const float sx = fixed.empty() ? 1.f : float(fixed[1]) / float(im.width);
    const float sy = fixed.empty() ? 1.f : float(fixed[0]) / float(im.height);
    const int h = fixed.empty() ? im.height : fixed[0], w = fixed.empty() ? im.width : fixed[1];
    const float s = data::transform_scale(h, w, float(cfg.min_size), float(cfg.max_size));
    for (const auto& b : im.boxes)
      if (b.w() > 0 && b.h() > 0) wh.emplace_back(b.w() * sx * s, b.h() * sy * s);
  }
  DR_CHECK(wh.size() >= 5, "anchors auto: the training set has " << wh.size()
                                                                 << " boxes, need at least 5");
  const data::AnchorSuggestion a = data::suggest_anchors(wh, 5, seed);
  cfg.anchor_sizes.clear();
  cfg.aspect_ratios.clear();
  for (int sz : a.sizes) cfg.anchor_sizes.push_back({double(std::max(sz, 1))});
  std::vector<double> ratios(a.aspect_ratios.begin(), a.aspect_ratios.end());
  cfg.aspect_ratios.assign(5, ratios);
  std::fprintf(stderr, "[train] anchors auto (k-means on %zu boxes, mean IoU %.3f): %s\n", wh.size(),
               a.mean_iou, a.torchvision().c_str());
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// A resumed run's log keeps what the checkpoint covers: step lines up to its iteration,
// epoch lines up to its epoch; lines a killed run wrote after it are dropped.
void truncate_metrics_log(const std::string& path, const TrainState& st) {
  std::ifstream in(path);
  if (!in) return;
  std::string line, kept;
  while (std::getline(in, line)) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception&) {
      continue;  // a line cut by the kill
    }
    if (!j.is_object()) continue;
    const bool step_line = j.contains("step") && j["step"].is_number();
    if (step_line && j["step"].get<int64_t>() > st.iteration) continue;
    if (!step_line && j.contains("epoch") && j["epoch"].is_number() &&
        j["epoch"].get<double>() > st.epoch)
      continue;
    kept += line + "\n";
  }
  in.close();
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    DR_CHECK(out, tmp << ": cannot write");
    out << kept;
  }
  DR_CHECK(std::rename(tmp.c_str(), path.c_str()) == 0, "cannot replace " << path);
}

// "out of memory" from the CUDA allocator or the host: an error naming the batch.
[[noreturn]] void fail_out_of_memory(const data::Batch& b, int64_t iteration, const ModelConfig& cfg,
                                     int batch_size, const std::string& why) {
  int h = 0, w = 0;
  for (const Tensor& im : b.images) h = std::max<int>(h, int(im.size(1))), w = std::max<int>(w, int(im.size(2)));
  DR_FAIL("out of memory at iteration " << iteration << " (epoch " << b.epoch + 1 << ", batch "
                                        << b.index << "): " << b.size() << " images, the largest "
                                        << h << "x" << w << " before the model's resize to min_size "
                                        << cfg.min_size << " / max_size " << cfg.max_size
                                        << "; lower --batch-size (now " << batch_size
                                        << ", --accumulate keeps the effective batch) or --max-size. "
                                        << why);
}

bool is_oom(const std::string& what) { return what.find("out of memory") != std::string::npos; }

// One run: a fresh start (ck null) or a resumed one.
TrainOutcome run(const TrainSettings& s, const Checkpoint* ck) {
  validate_settings(s);
  TrainOutcome outcome;
  outcome.out = s.out;
  if (s.threads > 0) {
    omp_set_num_threads(s.threads);
    openblas_set_num_threads(s.threads);
  }
  const Device device = pick_device(s.device);
  make_dirs(s.out);
  const std::string last_path = s.out + "/last.ckpt", best_path = s.out + "/best.ckpt",
                    log_path = s.out + "/metrics.jsonl";
  DR_CHECK(ck || !file_exists(last_path),
           last_path << " exists: pass --resume to continue that run, or choose another --out");

  // ---- data ----
  const data::CocoDataset train_ds = data::read_coco(s.train_json, s.train_images);
  DR_CHECK(train_ds.size() > 0, s.train_json << ": no images to train on");
  std::unique_ptr<data::CocoDataset> valid_ds;
  std::unique_ptr<eval::CocoGroundTruth> valid_gt;
  if (!s.valid_json.empty()) {
    valid_ds = std::make_unique<data::CocoDataset>(data::read_coco(s.valid_json, s.valid_images));
    valid_gt = std::make_unique<eval::CocoGroundTruth>(eval::read_coco_gt(s.valid_json));
  }

  // ---- model ----
  ModelConfig cfg;
  TensorFile finetune_file;
  if (ck) {
    cfg = ck->config;
  } else {
    const nlohmann::json* base = nullptr;
    if (!s.finetune.empty()) {
      finetune_file = read_tensor_file(s.finetune);
      if (finetune_file.meta.contains("config")) base = &finetune_file.meta["config"];
    }
    cfg = resolve_model_config(s, base, data_classes(train_ds));
    if (s.anchors == "auto") suggest_anchors_into(cfg, train_ds, s.fixed_size, s.seed);
    cfg.validate();
  }
  Context ctx(device, s.seed);
  FasterRCNN model(ctx, cfg);  // torchvision's init from the seeded Rng
  if (!ck && !s.finetune.empty()) {
    LoadOptions lo;
    lo.fine_tune = true;
    const LoadReport rep = load_weights(ctx, model, finetune_file, lo);
    std::fprintf(stderr, "[train] fine-tuning from %s: %zu tensors loaded, %zu re-initialized%s\n",
                 s.finetune.c_str(), rep.loaded, rep.reinitialized.size(),
                 rep.reinitialized.empty() ? "" : " (a new box predictor for this class count)");
    finetune_file = TensorFile();
  }

  // ---- optimizer ----
  ParamGroupSettings pgs;
  pgs.lr = s.lr;
  pgs.weight_decay = s.weight_decay;
  pgs.backbone_lr_mult = s.backbone_lr_mult;
  pgs.no_decay_norm_bias = s.no_decay_norm_bias;
  pgs.momentum = s.optimizer == "sgd" ? s.momentum : 0.0;
  ParamGroups pg = make_param_groups(model, pgs);
  Optimizer opt(ctx, optimizer_kind_from_name(s.optimizer), pg.groups);

  TrainState st;
  st.best_by = s.best_by;
  if (ck) {
    restore_checkpoint(ctx, *ck, model, opt);
    st = ck->state;
    st.best_by = s.best_by;
    if (ck->state.best_by != s.best_by) st.best_metric = -1, st.best_epoch = 0;
    truncate_metrics_log(log_path, st);
  }
  const nlohmann::json settings_json = settings_to_json(s);
  {
    std::ofstream f(s.out + "/settings.json");
    f << nlohmann::json{{"settings", settings_json}, {"config", cfg.to_json()}}.dump(2) << "\n";
  }

  // ---- loaders ----
  data::LoaderConfig lc;
  lc.batch_size = s.batch_size;
  lc.workers = s.workers;
  lc.prefetch_batches = 2;
  lc.seed = s.seed;
  lc.schedule = {s.epochs, s.no_augment_last};
  data::Loader train_loader(fixed_size_source(data::coco_source(train_ds), s.fixed_size),
                            data::make_preset(s.augment), lc);
  std::unique_ptr<data::Loader> valid_loader;
  if (valid_ds) {
    data::LoaderConfig vc;
    vc.batch_size = s.valid_batch_size;
    vc.workers = s.workers;
    vc.shuffle = false;
    valid_loader = std::make_unique<data::Loader>(
        fixed_size_source(data::coco_source(*valid_ds), s.fixed_size), data::Pipeline(), vc);
  }
  const int64_t batches = static_cast<int64_t>(train_loader.num_batches());
  const int64_t steps_per_epoch = (batches + s.accumulate - 1) / s.accumulate;
  const int64_t total_steps = steps_per_epoch * s.epochs;
  const LrScheduleConfig sched = schedule_in_steps(s, steps_per_epoch);
  validate_lr_schedule(sched, total_steps);

  std::fprintf(stderr,
               "[train] %s %s (%s body), %d classes, min/max size %d/%d, device %s, %d threads\n"
               "[train] %zu training images (%lld batches of %d, %lld optimizer steps an epoch, "
               "%d epochs = %lld steps), %zu validation images; augment %s (off the last %d "
               "epochs)\n[train] %s lr %g (body x%g), weight decay %g%s, %s schedule, warmup %g "
               "epochs from x%g; groups:",
               cfg.arch.c_str(), cfg.backbone.c_str(),
               cfg.backbone_options().body_norm == NormKind::BatchNorm ? "BatchNorm2d" : "FrozenBatchNorm2d",
               cfg.num_classes, cfg.min_size, cfg.max_size, device.is_cuda() ? "cuda" : "cpu",
               omp_get_max_threads(), train_ds.size(), static_cast<long long>(batches),
               s.batch_size, static_cast<long long>(steps_per_epoch), s.epochs,
               static_cast<long long>(total_steps), valid_ds ? valid_ds->size() : size_t(0),
               s.augment.c_str(), s.no_augment_last, s.optimizer.c_str(), s.lr, s.backbone_lr_mult,
               s.weight_decay, s.no_decay_norm_bias ? " (none on norm/bias)" : "",
               s.schedule.c_str(), s.warmup_epochs, s.warmup_start_factor);
  for (size_t g = 0; g < pg.labels.size(); ++g)
    std::fprintf(stderr, " %s %zu", pg.labels[g].c_str(), pg.groups[g].params.size());
  std::fprintf(stderr, "\n");
  if (ck)
    std::fprintf(stderr, "[train] resuming %s: epoch %d, batch %lld, iteration %lld\n",
                 last_path.c_str(), st.epoch + 1, static_cast<long long>(st.batch),
                 static_cast<long long>(st.iteration));

  int64_t saved_iteration = ck ? st.iteration : -1;  // of the last.ckpt on disk
  auto save_last = [&] {
    st.context_rng = ctx.rng().state();
    save_checkpoint(ctx, last_path, model, cfg, opt, settings_json, st);
    saved_iteration = st.iteration;
  };
  const nlohmann::json weights_meta = {{"config", cfg.to_json()}, {"source", "train"}};

  reset_stop_request();
  install_stop_handlers();
  model.train(true);
  bool stop = s.max_iters > 0 && st.iteration >= s.max_iters;  // a resume past --max-iters

  // ======================= TRAINING SECTION =======================
  for (int epoch = st.epoch; epoch < s.epochs && !stop; ++epoch) {
    const auto epoch_t0 = clock_type::now();
    train_loader.start_epoch(epoch, static_cast<size_t>(st.batch));
    Progress bar("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(s.epochs),
                 batches - st.batch, "batch");
    std::vector<std::pair<std::string, double>> epoch_sum;  // running loss parts of the epoch
    int64_t epoch_steps = 0, epoch_images = 0;
    std::vector<std::pair<std::string, double>> group_sum;  // this step's micro-batches
    double group_total = 0, data_time = 0;
    int group_batches = 0;
    auto step_t0 = clock_type::now();
    data::Batch batch;
    for (;;) {
      // -- data --
      const auto data_t0 = clock_type::now();
      if (!train_loader.next(batch)) break;
      data_time += seconds_since(data_t0);
      const int64_t group = batch.index / s.accumulate;
      const int64_t group_size = std::min<int64_t>(s.accumulate, batches - group * s.accumulate);

      // -- to device --
      std::vector<Tensor> images;
      std::vector<Target> targets;
      for (size_t k = 0; k < batch.size(); ++k) {
        images.push_back(ctx.to(batch.images[k], device));
        targets.push_back({ctx.to(data::boxes_tensor(batch.boxes[k]), device),
                           ctx.to(data::labels_tensor(batch.boxes[k]), device)});
      }

      // -- forward + backward (gradients += over the step's batches) --
      StepLosses losses;
      try {
        losses = forward_backward(ctx, model, images, targets, st.iteration, 1.0 / double(group_size));
      } catch (const NonFiniteError& e) {
        throw NonFiniteError(std::string(e.what()) + "\n" +
                             (saved_iteration >= 0
                                  ? "the last good checkpoint is " + last_path + " (iteration " +
                                        std::to_string(saved_iteration) + ", left as it was)"
                                  : std::string("no checkpoint of this run was written before it")));
      } catch (const std::bad_alloc&) {
        fail_out_of_memory(batch, st.iteration, cfg, s.batch_size, "(host allocation failed)");
      } catch (const Error& e) {
        if (is_oom(e.what())) fail_out_of_memory(batch, st.iteration, cfg, s.batch_size, e.what());
        throw;
      }
      if (group_sum.empty()) group_sum = losses.parts, group_total = 0;
      else
        for (size_t k = 0; k < losses.parts.size(); ++k) group_sum[k].second += losses.parts[k].second;
      group_total += losses.total;
      ++group_batches;
      epoch_images += static_cast<int64_t>(batch.size());
      bar.tick();
      if (group_batches < group_size) continue;  // more batches in this step

      // -- update: grad norm (clip), lr of this step, optimizer step --
      const double gnorm = s.clip_grad_norm > 0 ? clip_grad_norm(ctx, opt.params(), s.clip_grad_norm)
                                                : grad_norm(ctx, opt.params());
      apply_schedule(opt, sched, st.iteration, total_steps);
      const double lr = opt.groups()[0].lr;
      opt.step();
      opt.zero_grad();
      ++st.iteration;
      st.batch = batch.index + 1;

      // -- metrics line and progress --
      const double step_time = seconds_since(step_t0);
      if (epoch_sum.empty()) {
        epoch_sum = group_sum;
        for (auto& p : epoch_sum) p.second = 0;
      }
      std::vector<std::pair<std::string, double>> rec = {
          {"epoch", double(epoch + 1)}, {"step", double(st.iteration)}, {"loss", group_total / group_batches}};
      for (size_t k = 0; k < group_sum.size(); ++k) {
        rec.emplace_back(group_sum[k].first, group_sum[k].second / group_batches);
        epoch_sum[k].second += group_sum[k].second / group_batches;
      }
      ++epoch_steps;
      double run_total = 0;  // the epoch's running means, for the progress bar
      for (auto& p : epoch_sum) run_total += p.second / epoch_steps;
      std::string note = "loss " + fmt("%.3f", run_total) + " (";
      const char* shorts[] = {"cls", "box", "obj", "rpn"};
      for (size_t k = 0; k < epoch_sum.size(); ++k)
        note += std::string(k ? " " : "") + (k < 4 ? shorts[k] : epoch_sum[k].first.c_str()) + " " +
                fmt("%.3f", epoch_sum[k].second / epoch_steps);
      note += ") lr " + fmt("%.2e", lr);
      bar.set_note(note);
      rec.emplace_back("lr", lr);
      rec.emplace_back("grad_norm", gnorm);
      rec.emplace_back("time", step_time);
      rec.emplace_back("data_time", data_time);
      if (st.iteration % s.log_every == 0) eval::append_metrics_record(log_path, rec);
      group_sum.clear();
      group_batches = 0;
      data_time = 0;
      step_t0 = clock_type::now();

      // -- stop or periodic checkpoint --
      if (stop_requested() || (s.max_iters > 0 && st.iteration >= s.max_iters)) {
        stop = true;
        break;
      }
      if (s.checkpoint_every > 0 && st.iteration % s.checkpoint_every == 0 && st.batch < batches)
        save_last();  // (at an epoch's end, the end of the epoch writes it)
    }
    bar.finish();
    if (st.batch < batches) break;  // stopped inside the epoch

    // ---- end of the epoch: validation, metrics, checkpoints ----
    st.epoch = epoch + 1;
    st.batch = 0;
    outcome.epochs_done = st.epoch;
    const double train_seconds = seconds_since(epoch_t0);
    std::vector<std::pair<std::string, double>> rec = {{"epoch", double(epoch + 1)}};
    double mean_loss = 0;
    for (auto& p : epoch_sum) mean_loss += p.second / std::max<int64_t>(epoch_steps, 1);
    rec.emplace_back("train_loss", mean_loss);
    rec.emplace_back("images_per_s", epoch_images / std::max(train_seconds, 1e-9));
    rec.emplace_back("epoch_s", train_seconds);
    const bool last_epoch = epoch + 1 == s.epochs;
    bool improved = false;
    const bool validated = valid_loader && ((epoch + 1) % s.valid_every == 0 || last_epoch || stop);
    if (validated) {
      ValidationResult v = validate(ctx, model, *valid_loader, *valid_gt, s.score_thresh,
                                    s.digit_nms, !s.fixed_size.empty());
      outcome.last_validation = v;
      rec.emplace_back("val_map", v.map);
      rec.emplace_back("val_map50", v.map50);
      rec.emplace_back("val_acc", v.accuracy);
      rec.emplace_back("val_s", v.seconds);
      const double metric = s.best_by == "map" ? v.map : v.accuracy;
      improved = metric > st.best_metric;
      if (improved) st.best_metric = metric, st.best_epoch = epoch + 1;
      std::fprintf(stderr,
                   "[train] epoch %d/%d: loss %.4f, %.1f images/s, %.0f s; validation mAP %.4f, "
                   "AP50 %.4f, accuracy %.4f (score >= %g), %.0f s%s\n",
                   epoch + 1, s.epochs, mean_loss, epoch_images / std::max(train_seconds, 1e-9),
                   train_seconds, v.map, v.map50, v.accuracy, s.score_thresh, v.seconds,
                   improved ? " (best so far)" : "");
    } else {
      std::fprintf(stderr, "[train] epoch %d/%d: loss %.4f, %.1f images/s, %.0f s\n", epoch + 1,
                   s.epochs, mean_loss, epoch_images / std::max(train_seconds, 1e-9), train_seconds);
    }
    eval::append_metrics_record(log_path, rec);
    // Every epoch's end, unless checkpoints go by steps; then only where best.ckpt may
    // need it (a validated epoch) and at the last epoch.
    if (s.checkpoint_every == 0 || st.iteration % s.checkpoint_every == 0 || validated ||
        last_epoch || stop)
      save_last();
    if (improved) {
      // last.ckpt holds this very state: best.ckpt becomes a second name for its file
      // (rename keeps that atomic; the next last.ckpt is a new file and leaves it alone).
      if (!link_atomically(last_path, best_path))
        save_checkpoint(ctx, best_path, model, cfg, opt, settings_json, st);
      save_weights(ctx, model, s.out + "/best.weights.bin", weights_meta);
    }
  }
  // ======================= END OF TRAINING SECTION =======================

  outcome.iterations = st.iteration;
  outcome.epochs_done = st.epoch;
  outcome.best_metric = st.best_metric;
  outcome.best_epoch = st.best_epoch;
  const bool finished = st.epoch >= s.epochs;
  if (!finished && stop_requested()) {
    if (saved_iteration != st.iteration) save_last();
    outcome.stop = TrainOutcome::Stop::Interrupted;
    outcome.signal = stop_requested();
    std::fprintf(stderr, "[train] interrupted by signal %d after iteration %lld; wrote %s (resume "
                         "with --resume --out %s)\n",
                 outcome.signal, static_cast<long long>(st.iteration), last_path.c_str(), s.out.c_str());
    return outcome;
  }
  if (stop && !finished) {
    if (saved_iteration != st.iteration) save_last();
    outcome.stop = TrainOutcome::Stop::MaxIters;
  }
  save_weights(ctx, model, s.out + "/final.weights.bin", weights_meta);
  try {
    const std::vector<eval::NamedChart> charts = eval::training_charts(eval::read_metrics_log(log_path));
    make_dirs(s.out + "/plots");
    for (const auto& c : charts) eval::write_chart(c.chart, s.out + "/plots/" + c.name, "both");
  } catch (const Error& e) {
    std::fprintf(stderr, "[train] warning: no plots: %s\n", e.what());
  }
  std::fprintf(stderr, "[train] %s after %lld iterations (%d epochs): %s/final.weights.bin%s\n",
               outcome.stop == TrainOutcome::Stop::MaxIters ? "stopped at --max-iters" : "done", static_cast<long long>(st.iteration),
               st.epoch, s.out.c_str(),
               st.best_epoch > 0 ? (", best " + s.best_by + " " + fmt("%.4f", st.best_metric) +
                                    " at epoch " + std::to_string(st.best_epoch) + ": " + s.out +
                                    "/best.weights.bin")
                                       .c_str()
                                 : "");
  return outcome;
}

}  // namespace

TrainOutcome train(const TrainSettings& settings) { return run(settings, nullptr); }

TrainOutcome resume(const std::string& out_dir, const nlohmann::json& overrides) {
  const std::string path = out_dir + "/last.ckpt";
  DR_CHECK(file_exists(path), "--resume: " << path << " does not exist (nothing to resume in "
                                           << out_dir << ")");
  const Checkpoint ck = read_checkpoint(path);
  TrainSettings s = settings_for_resume(ck.settings, overrides, path);
  s.out = out_dir;
  return run(s, &ck);
}

}  // namespace dr::train
