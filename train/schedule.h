// Learning-rate schedules as pure functions of the step: lr = f(config, base_lr, step,
// total). Nothing to checkpoint but the step. The step is whatever the caller counts
// (iterations or epochs); total is the number of such steps in the run.
//
// Each kind equals torch's scheduler (torch 1.13, lr_scheduler.py) in closed form:
//   warmup     LinearLR(start_factor, end_factor=1, total_iters=W):
//                factor(s) = start + (1 - start) * s / W for s < W, else 1
//   constant   the warmup alone (W = 0: the base lr)
//   cosine     W = 0: CosineAnnealingLR(T_max=total, eta_min)
//              W > 0: SequentialLR([LinearLR, CosineAnnealingLR(T_max=total - W)], [W]):
//                s >= W: eta_min + (base - eta_min) * (1 + cos(pi * (s - W) / (total - W))) / 2
//   multistep  MultiStepLR(milestones, gamma), milestones in absolute steps, times the
//              warmup factor (torch ChainedScheduler([LinearLR, MultiStepLR])):
//                base * factor(s) * gamma^(number of milestones <= s)
// torch computes LinearLR and CosineAnnealingLR recursively (each lr from the previous);
// the closed forms agree with its values to 3.3e-15 relative at every step of the dumped
// runs (tests/test_schedule.cpp against tools/ref/optim.py). Deviations, both deliberate:
//   - warmup_start_factor 0 is allowed ("warm up from 0"); torch's LinearLR divides by it.
//   - past total, cosine stays at eta_min; torch's cosine would rise again.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace dr::train {

class Optimizer;

struct LrScheduleConfig {
  std::string kind = "constant";      // "constant" | "cosine" | "multistep"
  int64_t warmup_steps = 0;           // W; 0: no warmup
  double warmup_start_factor = 1e-3;  // in [0, 1]: the factor at step 0
  double eta_min = 0;                 // cosine: the final lr (absolute, as torch)
  std::vector<int64_t> milestones;    // multistep: steps (>= 0) where the lr is multiplied by gamma
  double gamma = 0.1;                 // multistep
};

// From a recipe's JSON object with any of the keys above ("kind", "warmup_steps",
// "warmup_start_factor", "eta_min", "milestones", "gamma"); an unknown key or a value of
// the wrong type is an error naming it.
LrScheduleConfig lr_schedule_from_json(const nlohmann::json& j);
nlohmann::json lr_schedule_to_json(const LrScheduleConfig& c);
// Throws on an unknown kind, a start factor outside [0, 1], negative warmup or milestones,
// gamma <= 0, a negative eta_min, total < 1, or (cosine) total <= warmup_steps.
void validate_lr_schedule(const LrScheduleConfig& c, int64_t total_steps);

// The lr at step (0-based; >= 0) of a run of total_steps, for a group whose base lr is base_lr.
double scheduled_lr(const LrScheduleConfig& c, double base_lr, int64_t step, int64_t total_steps);
// Every group of opt: lr = scheduled_lr(c, group.base_lr, step, total_steps).
void apply_schedule(Optimizer& opt, const LrScheduleConfig& c, int64_t step, int64_t total_steps);

}  // namespace dr::train
