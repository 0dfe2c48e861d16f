// Learning-rate schedules: see train/schedule.h for the formulas and their torch sources.
#include "train/schedule.h"

#include <algorithm>
#include <cmath>

#include "kernels/error.h"
#include "train/optimizer.h"

namespace dr::train {

namespace {

constexpr double kPi = 3.14159265358979323846;

// LinearLR's closed form (_get_closed_form_lr) with end_factor 1.
double warmup_factor(const LrScheduleConfig& c, int64_t step) {
  if (step >= c.warmup_steps) return 1.0;
  return c.warmup_start_factor +
         (1.0 - c.warmup_start_factor) * double(step) / double(c.warmup_steps);
}

// CosineAnnealingLR's closed form at epoch e of T_max, held at eta_min past T_max.
double cosine_lr(double base_lr, double eta_min, int64_t e, int64_t t_max) {
  e = std::min(e, t_max);
  return eta_min + (base_lr - eta_min) * (1 + std::cos(kPi * double(e) / double(t_max))) / 2;
}

}  // namespace

LrScheduleConfig lr_schedule_from_json(const nlohmann::json& j) {
  DR_CHECK(j.is_object(), "lr schedule: expected a JSON object, got " << j.dump());
  LrScheduleConfig c;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    try {
      if (key == "kind") c.kind = it->get<std::string>();
      else if (key == "warmup_steps") c.warmup_steps = it->get<int64_t>();
      else if (key == "warmup_start_factor") c.warmup_start_factor = it->get<double>();
      else if (key == "eta_min") c.eta_min = it->get<double>();
      else if (key == "milestones") c.milestones = it->get<std::vector<int64_t>>();
      else if (key == "gamma") c.gamma = it->get<double>();
      else DR_FAIL("lr schedule: unknown key '" << key << "'");
    } catch (const nlohmann::json::exception& e) {
      DR_FAIL("lr schedule: key '" << key << "' has a wrong value " << it->dump() << " ("
                                   << e.what() << ")");
    }
  }
  return c;
}

nlohmann::json lr_schedule_to_json(const LrScheduleConfig& c) {
  return {{"kind", c.kind},       {"warmup_steps", c.warmup_steps},
          {"warmup_start_factor", c.warmup_start_factor},
          {"eta_min", c.eta_min}, {"milestones", c.milestones},
          {"gamma", c.gamma}};
}

void validate_lr_schedule(const LrScheduleConfig& c, int64_t total_steps) {
  DR_CHECK(c.kind == "constant" || c.kind == "cosine" || c.kind == "multistep",
           "lr schedule: unknown kind '" << c.kind << "' (expected constant, cosine or multistep)");
  DR_CHECK(total_steps >= 1, "lr schedule: total steps must be >= 1, got " << total_steps);
  DR_CHECK(c.warmup_steps >= 0, "lr schedule: warmup_steps must be >= 0, got " << c.warmup_steps);
  DR_CHECK(c.warmup_start_factor >= 0 && c.warmup_start_factor <= 1,
           "lr schedule: warmup_start_factor must be in [0, 1], got " << c.warmup_start_factor);
  if (c.kind == "cosine") {
    DR_CHECK(total_steps > c.warmup_steps, "lr schedule: cosine needs total steps ("
                                               << total_steps << ") > warmup_steps ("
                                               << c.warmup_steps << ")");
    DR_CHECK(c.eta_min >= 0 && std::isfinite(c.eta_min),
             "lr schedule: eta_min must be >= 0, got " << c.eta_min);
  }
  if (c.kind == "multistep") {
    DR_CHECK(c.gamma > 0 && std::isfinite(c.gamma),
             "lr schedule: gamma must be > 0, got " << c.gamma);
    for (int64_t m : c.milestones)
      DR_CHECK(m >= 0, "lr schedule: milestones must be >= 0, got " << m);
  }
}

double scheduled_lr(const LrScheduleConfig& c, double base_lr, int64_t step, int64_t total_steps) {
  validate_lr_schedule(c, total_steps);
  DR_CHECK(step >= 0, "lr schedule: step must be >= 0, got " << step);
  if (c.kind == "cosine" && step >= c.warmup_steps)
    return cosine_lr(base_lr, c.eta_min, step - c.warmup_steps, total_steps - c.warmup_steps);
  double lr = base_lr * warmup_factor(c, step);
  if (c.kind == "multistep") {
    // gamma ** count: MultiStepLR counts repeated milestones (collections.Counter).
    const auto n = std::count_if(c.milestones.begin(), c.milestones.end(),
                                 [&](int64_t m) { return m <= step; });
    lr *= std::pow(c.gamma, double(n));
  }
  return lr;
}

void apply_schedule(Optimizer& opt, const LrScheduleConfig& c, int64_t step, int64_t total_steps) {
  for (ParamGroup& g : opt.groups()) g.lr = scheduled_lr(c, g.base_lr, step, total_steps);
}

}  // namespace dr::train
