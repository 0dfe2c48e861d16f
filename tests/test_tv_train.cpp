// tools/tv_train.py (torchvision trained with our recipe) mirrors two pieces of our
// trainer in Python: the loader's epoch order and the lr of every optimizer step. Both
// must equal ours exactly, or the torchvision run would see other batches or learning
// rates (tools/ref/tv_train.py dumps what the Python computes).
#include <cmath>

#include "data/loader.h"
#include "tests/testing.h"
#include "train/recipe.h"
#include "train/schedule.h"

using namespace dr;

TEST_CASE("tv_train: the Python epoch order is the loader's") {
  Context ctx;
  const TensorFile& ref = test::reference("tv_train");
  const nlohmann::json& cases = ref.meta["orders"];
  REQUIRE(cases.size() >= 5);
  for (size_t k = 0; k < cases.size(); ++k) {
    const size_t n = cases[k]["n"].get<size_t>();
    const uint64_t seed = cases[k]["seed"].get<uint64_t>();
    const int epoch = cases[k]["epoch"].get<int>();
    const std::vector<size_t> ours = data::epoch_order(n, seed, epoch, true);
    const std::vector<double> py = test::to_doubles(ctx, ref.get("order." + std::to_string(k)));
    REQUIRE(py.size() == n);
    int64_t first_bad = -1;
    for (size_t i = 0; i < n && first_bad < 0; ++i)
      if (double(ours[i]) != py[i]) first_bad = int64_t(i);
    CHECK_MESSAGE(first_bad < 0, "n " << n << " seed " << seed << " epoch " << epoch
                                      << ": first different position " << first_bad);
  }
}

TEST_CASE("tv_train: the Python lr of every step is the trainer's") {
  Context ctx;
  const TensorFile& ref = test::reference("tv_train");
  const nlohmann::json& cases = ref.meta["schedules"];
  REQUIRE(cases.size() >= 4);
  for (size_t k = 0; k < cases.size(); ++k) {
    nlohmann::json recipe = cases[k];
    const int64_t spe = recipe["steps_per_epoch"].get<int64_t>();
    const double base = recipe["base_lr"].get<double>();
    recipe.erase("steps_per_epoch");
    recipe.erase("base_lr");
    train::TrainSettings s;
    train::apply_settings_json(s, recipe, "tv_train case " + std::to_string(k));
    const train::LrScheduleConfig c = train::schedule_in_steps(s, spe);
    const int64_t total = spe * s.epochs;
    const std::vector<double> py = test::to_doubles(ctx, ref.get("lr." + std::to_string(k)));
    REQUIRE(py.size() == size_t(total + 1));
    // The same closed forms in double on both sides: only libm's cos may differ (an ulp).
    int64_t first_bad = -1;
    for (int64_t i = 0; i <= total && first_bad < 0; ++i) {
      const double ours = train::scheduled_lr(c, base, i, total);
      if (std::fabs(ours - py[size_t(i)]) > 1e-14 * std::fabs(py[size_t(i)]) + 1e-300)
        first_bad = i;
    }
    CHECK_MESSAGE(first_bad < 0, recipe.dump() << ": first different step " << first_bad);
  }
}
