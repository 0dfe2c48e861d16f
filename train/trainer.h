// The training loop: one Faster R-CNN, one optimizer, written out top to bottom
// (train/trainer.cpp). Per optimizer step: `accumulate` batches through forward_backward
// (train/step.h, loss scaled by 1/accumulate) -> grad norm (clipped when asked) -> the
// lr of this step (train/schedule.h) -> optimizer.step() -> zero_grad -> a metrics line
// -> the progress bar. Per epoch: validation (COCO mAP, AP50, whole-number accuracy at
// score_thresh) through the eval forward, an epoch metrics line, last.ckpt, and best.ckpt
// + best.weights.bin when the chosen metric improved. At the end: final.weights.bin and
// the charts (plots/). Files in settings.out:
//   metrics.jsonl   one JSON object a line (eval/metrics_log.h; docs/TRAIN.md)
//   last.ckpt       the latest checkpoint (train/checkpoint.h), for --resume
//   best.ckpt       the checkpoint of the best validation epoch
//   best.weights.bin, final.weights.bin   plain weight files tools/infer runs directly
//   settings.json   the run's settings and resolved model config, for reading
//   plots/          loss, lr and validation charts (SVG + PNG)
// SIGINT / SIGTERM: the current optimizer step finishes, last.ckpt is written, and
// run returns Stop::Interrupted (a second signal ends the process at once).
// A NaN/Inf loss or gradient throws NonFiniteError (train/step.h) naming the iteration
// and the loss part, and what the last good checkpoint is; nothing is written after it.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "train/recipe.h"
#include "train/validate.h"

namespace dr::train {

struct TrainOutcome {
  enum class Stop { Finished, MaxIters, Interrupted };
  Stop stop = Stop::Finished;
  int signal = 0;             // the signal that interrupted the run
  int64_t iterations = 0;     // optimizer steps done (in total, across resumes)
  int epochs_done = 0;
  double best_metric = -1;    // the best validation value (settings.best_by), -1: none
  int best_epoch = 0;
  ValidationResult last_validation;
  std::string out;            // the run's folder
};

// A fresh run. The folder must not hold a last.ckpt already (resume it or pick another).
TrainOutcome train(const TrainSettings& settings);
// Continues the run whose last.ckpt is in out_dir with the saved settings; overrides (a
// recipe and flags given again) may change paths, device, threads, workers, max_iters,
// logging and validation, nothing else (train/recipe.h settings_for_resume).
TrainOutcome resume(const std::string& out_dir, const nlohmann::json& overrides);

// Arms the SIGINT/SIGTERM handlers that ask the loop to stop after the current step;
// train()/resume() call it. Exposed for tests.
void install_stop_handlers();
// The signal received since the last reset (0: none).
int stop_requested();
void reset_stop_request();

}  // namespace dr::train
