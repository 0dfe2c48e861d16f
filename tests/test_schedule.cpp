// Learning-rate schedules (train/schedule.h): every step against torch's schedulers
// (tools/ref/optim.py), closed-form values, validation and the JSON config.
#include <cmath>

#include "tests/testing.h"
#include "train/optimizer.h"
#include "train/schedule.h"

using namespace dr;
using train::LrScheduleConfig;
using train::scheduled_lr;

TEST_CASE("parity: lr schedules match torch's schedulers at every step") {
  Context ctx;
  const TensorFile& ref = test::reference("optim");
  // torch's LinearLR and CosineAnnealingLR are recursive (each lr from the previous one);
  // ours are closed forms. Measured: max relative difference 3.3e-15 over all schedules
  // (the recursion's accumulated rounding); 1e-12 leaves room without hiding a wrong
  // formula (an off-by-one step differs by > 1e-5). The absolute floor covers step 0 of
  // the warmup from 0, which torch can only approximate with start factor 1e-300.
  const double rtol = 1e-12, atol = 1e-300;
  std::vector<std::pair<std::string, nlohmann::json>> cases;
  for (const auto& [name, sj] : ref.meta["schedules"].items()) {
    cases.emplace_back(name, sj);
    if (sj["config"].value("warmup_start_factor", 1.0) == 1e-300) {
      nlohmann::json from0 = sj;
      from0["config"]["warmup_start_factor"] = 0.0;
      cases.emplace_back(name + " (from 0)", from0);
    }
  }
  REQUIRE(cases.size() == ref.meta["schedules"].size() + 1);
  for (const auto& [label, sj] : cases) {
    const std::string name = label.substr(0, label.find(' '));
    const LrScheduleConfig cfg = train::lr_schedule_from_json(sj["config"]);
    const int64_t total = sj["total"];
    const std::vector<double> base = sj["base_lrs"];
    const std::vector<double> want = test::to_doubles(ctx, ref.get("sched." + name + ".lr"));
    REQUIRE(want.size() == size_t(total + 1) * base.size());
    double max_rel = 0;
    int64_t bad = -1;
    for (int64_t s = 0; s <= total; ++s)
      for (size_t g = 0; g < base.size(); ++g) {
        const double got = scheduled_lr(cfg, base[g], s, total), w = want[s * base.size() + g];
        const double d = std::fabs(got - w);
        if (std::fabs(w) > atol) max_rel = std::max(max_rel, d / std::fabs(w));
        if (d > atol + rtol * std::fabs(w) && bad < 0) bad = s;
      }
    CHECK_MESSAGE(bad < 0, label << ": first step off " << bad);
    MESSAGE(label << ": " << total + 1 << " steps, max rel diff vs torch " << max_rel);
  }
}

TEST_CASE("schedule: closed forms, warmup from 0, and held ends") {
  const double base = 0.02;
  LrScheduleConfig c;  // constant, no warmup
  c.warmup_steps = 0;
  for (int64_t s : {0, 5, 99}) CHECK(scheduled_lr(c, base, s, 100) == base);

  c.warmup_steps = 10;
  c.warmup_start_factor = 0;  // "warmup from 0": torch's LinearLR cannot (divides by it)
  CHECK(scheduled_lr(c, base, 0, 100) == 0);
  CHECK(scheduled_lr(c, base, 5, 100) == doctest::Approx(base * 0.5).epsilon(1e-15));
  CHECK(scheduled_lr(c, base, 10, 100) == base);

  c.kind = "cosine";
  c.eta_min = 1e-4;
  CHECK(scheduled_lr(c, base, 9, 100) == doctest::Approx(base * 0.9).epsilon(1e-15));
  CHECK(scheduled_lr(c, base, 10, 100) == base);  // the cosine starts at the base lr
  CHECK(scheduled_lr(c, base, 55, 100) == doctest::Approx((base + 1e-4) / 2).epsilon(1e-14));
  CHECK(scheduled_lr(c, base, 100, 100) == doctest::Approx(1e-4).epsilon(1e-14));
  CHECK(scheduled_lr(c, base, 250, 100) == scheduled_lr(c, base, 100, 100));  // held

  c = LrScheduleConfig{};
  c.kind = "multistep";
  c.milestones = {30, 30, 60};  // a repeated milestone counts twice, as MultiStepLR's Counter
  c.gamma = 0.1;
  CHECK(scheduled_lr(c, base, 29, 100) == base);
  CHECK(scheduled_lr(c, base, 30, 100) == doctest::Approx(base * 0.01).epsilon(1e-15));
  CHECK(scheduled_lr(c, base, 60, 100) == doctest::Approx(base * 0.001).epsilon(1e-15));

  // apply_schedule sets every group's lr from its own base lr.
  Context ctx;
  Tensor a = Tensor::host_zeros({2}), b = Tensor::host_zeros({3});
  std::vector<train::ParamGroup> groups(2);
  groups[0].params = {{"a", &a}};
  groups[0].base_lr = 0.1;
  groups[1].params = {{"b", &b}};
  groups[1].base_lr = 0.01;
  train::Optimizer opt(ctx, train::OptimizerKind::SGD, groups);
  train::apply_schedule(opt, c, 45, 100);
  CHECK(opt.groups()[0].lr == doctest::Approx(0.1 * 0.01).epsilon(1e-15));
  CHECK(opt.groups()[1].lr == doctest::Approx(0.01 * 0.01).epsilon(1e-15));
}

TEST_CASE("schedule: JSON config and validation") {
  const nlohmann::json j = {{"kind", "cosine"}, {"warmup_steps", 100}, {"warmup_start_factor", 0.0},
                            {"eta_min", 1e-6}};
  LrScheduleConfig c = train::lr_schedule_from_json(j);
  CHECK(c.kind == "cosine");
  CHECK(c.warmup_steps == 100);
  CHECK(c.warmup_start_factor == 0.0);
  CHECK(c.eta_min == 1e-6);
  const LrScheduleConfig back = train::lr_schedule_from_json(train::lr_schedule_to_json(c));
  CHECK(train::lr_schedule_to_json(back) == train::lr_schedule_to_json(c));

  CHECK_THROWS_WITH_AS(train::lr_schedule_from_json({{"kind", "cosine"}, {"warmup", 5}}),
                       doctest::Contains("unknown key 'warmup'"), Error);
  CHECK_THROWS_WITH_AS(train::lr_schedule_from_json({{"milestones", "16,22"}}),
                       doctest::Contains("key 'milestones'"), Error);
  CHECK_THROWS_WITH_AS(scheduled_lr(c, 0.1, 0, 100), doctest::Contains("total steps (100) > warmup"),
                       Error);
  c.kind = "step";
  CHECK_THROWS_WITH_AS(train::validate_lr_schedule(c, 1000), doctest::Contains("unknown kind 'step'"),
                       Error);
  c.kind = "constant";
  c.warmup_start_factor = 1.5;
  CHECK_THROWS_AS(train::validate_lr_schedule(c, 1000), Error);
  c.warmup_start_factor = 0.5;
  CHECK_THROWS_AS(scheduled_lr(c, 0.1, -1, 1000), Error);
  c.kind = "multistep";
  c.gamma = 0;
  CHECK_THROWS_AS(train::validate_lr_schedule(c, 1000), Error);
}
