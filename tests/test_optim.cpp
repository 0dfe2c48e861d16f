// Optimizers (train/optimizer.h) and gradient clipping (train/grad_clip.h): parity with
// torch.optim SGD / Adam / AdamW and clip_grad_norm_ over 20 steps (tools/ref/optim.py),
// state save/load, strict loading, validation, and CPU vs CUDA.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <sstream>
#include <tuple>

#include "nn/tensor_file.h"
#include "tests/testing.h"
#include "train/grad_clip.h"
#include "train/optimizer.h"

using namespace dr;
using train::Optimizer;
using train::OptimizerKind;
using train::ParamGroup;

namespace {

// Parameters p0..p<n-1> (their values owned here) and an optimizer over them, built from
// one run of the dump's meta ("runs": {name: {kind, groups: [{params: [i...], lr, ...}]}}).
struct Run {
  std::vector<std::unique_ptr<Tensor>> params;
  std::unique_ptr<Optimizer> opt;
};

std::string pname(size_t i) { return "p" + std::to_string(i); }

Run make_run(Context& ctx, const nlohmann::json& cfg, const std::vector<Tensor>& init) {
  Run r;
  for (const Tensor& t : init) {
    r.params.push_back(std::make_unique<Tensor>(ctx.to(t, ctx.device())));
    if (!ctx.is_cuda()) *r.params.back() = ctx.clone(t);  // never alias the dump
    r.params.back()->set_requires_grad(true);
  }
  std::vector<ParamGroup> groups;
  for (const auto& gj : cfg["groups"]) {
    ParamGroup g;
    for (int i : gj["params"]) g.params.emplace_back(pname(i), r.params[i].get());
    g.base_lr = gj["lr"];
    g.weight_decay = gj["weight_decay"];
    g.momentum = gj.value("momentum", 0.0);
    g.dampening = gj.value("dampening", 0.0);
    g.nesterov = gj.value("nesterov", false);
    g.beta1 = gj.value("beta1", 0.9);
    g.beta2 = gj.value("beta2", 0.999);
    g.eps = gj.value("eps", 1e-8);
    groups.push_back(g);
  }
  r.opt = std::make_unique<Optimizer>(ctx, train::optimizer_kind_from_name(cfg["kind"]),
                                      std::move(groups));
  return r;
}

// Feeds step s's dumped gradients (a copy: clipping scales them in place); a parameter
// the dump gives no gradient has none.
void set_grads(Context& ctx, Run& r, const TensorFile& ref, const std::string& dt, int s) {
  for (size_t i = 0; i < r.params.size(); ++i) {
    const std::string key = dt + ".grad." + std::to_string(s) + "." + std::to_string(i);
    r.params[i]->zero_grad();
    if (ref.contains(key)) r.params[i]->set_grad(ctx.clone(ctx.to(ref.get(key), ctx.device())));
  }
}

struct MaxErr {
  double abs = 0, rel = 0;
  void add(Context& ctx, const Tensor& a, const Tensor& b) {
    auto x = test::to_doubles(ctx, a), y = test::to_doubles(ctx, b);
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      const double d = std::fabs(x[i] - y[i]);
      abs = std::max(abs, d);
      if (y[i] != 0) rel = std::max(rel, d / std::fabs(y[i]));
    }
  }
};

std::vector<Tensor> init_params(const TensorFile& ref, const std::string& dt) {
  std::vector<Tensor> init;
  for (size_t i = 0; ref.contains(dt + ".init." + std::to_string(i)); ++i)
    init.push_back(ref.get(dt + ".init." + std::to_string(i)));
  return init;
}

}  // namespace

TEST_CASE("parity: SGD, Adam, AdamW and clip_grad_norm_ match torch over 20 steps") {
  Context ctx;
  const TensorFile& ref = test::reference("optim");
  const int steps = ref.meta["steps"];
  for (const std::string dt : {"f32", "f64"}) {
    for (const auto& [name, cfg] : ref.meta["runs"].items()) {
      for (const bool clip : {false, true}) {
        // Without clipping the update is torch's exact op sequence (fma where ATen's
        // vectorized kernels fuse, see kernels/optim.cuh): f32 and f64 must agree bit for bit.
        // With clipping, torch sums the f32 norm in its own order and differs from our
        // double sum by an ulp at some steps (measured: 8.9e-8 relative); the scaled
        // gradients then flip the rounding of some updates, by an ulp of the largest value
        // the parameter held (values reach ~4, so up to ~5e-7 absolute in f32).
        const double rtol = !clip ? 0 : dt == "f32" ? 1e-6 : 1e-12;
        const double atol = !clip ? 0 : dt == "f32" ? 1e-6 : 1e-14;
        const std::string run = clip ? name : name + "_noclip";
        const std::string what = run + " " + dt;
        Run r = make_run(ctx, cfg, init_params(ref, dt));
        MaxErr err, nerr;
        for (int s = 1; s <= steps; ++s) {
          set_grads(ctx, r, ref, dt, s);
          const std::string ss = std::to_string(s);
          if (clip && ref.meta["clip"].contains(ss)) {
            const double norm = train::clip_grad_norm(ctx, r.opt->params(), ref.meta["clip"][ss]);
            const double want = test::to_doubles(ctx, ref.get(run + "." + dt + ".norm." + ss))[0];
            CHECK_MESSAGE(std::fabs(norm - want) <= (dt == "f32" ? 1e-6 : 1e-14) * want,
                          what << " step " << s << ": norm " << norm << " vs torch " << want);
            nerr.add(ctx, Tensor::host_from<double>({1}, {norm}),
                     Tensor::host_from<double>({1}, {want}));
          }
          r.opt->step();
          for (size_t i = 0; i < r.params.size(); ++i) {
            const Tensor& want = ref.get(run + "." + dt + ".param." + ss + "." + std::to_string(i));
            DR_CHECK_CLOSE(ctx, *r.params[i], want, rtol, atol,
                           what + " step " + ss + " p" + std::to_string(i));
            err.add(ctx, *r.params[i], want);
          }
        }
        // The state after the last step, tensor by tensor (names differ only in prefix).
        std::map<std::string, Tensor> state;
        for (auto& [sname, t] : r.opt->state_tensors()) state[sname] = t;
        size_t expected = 0;
        const std::string pre = run + "." + dt + ".state.";
        for (const auto& [tname, want] : ref.tensors) {
          if (tname.compare(0, pre.size(), pre) != 0) continue;
          ++expected;
          const std::string ours = "optimizer.p" + tname.substr(pre.size());  // "<i>.<slot>"
          REQUIRE_MESSAGE(state.count(ours), what << ": no state tensor " << ours);
          DR_CHECK_CLOSE(ctx, state[ours], want, rtol, atol, what + " state " + ours);
        }
        CHECK_MESSAGE(state.size() == expected, what << ": " << state.size()
                                                     << " state tensors, torch has " << expected);
        std::ostringstream os;
        os << what << ": params max abs err " << err.abs << ", max rel err " << err.rel;
        if (clip) os << "; clip norm max rel err " << nerr.rel;
        MESSAGE(os.str());
      }
    }
  }
}

TEST_CASE("optimizer: state_tensors -> flat file -> load_state continues the run exactly") {
  Context ctx;
  const TensorFile& ref = test::reference("optim");
  const int steps = ref.meta["steps"], half = steps / 2;
  for (const std::string run : {"sgd_momentum", "sgd_nesterov", "adam", "adamw"}) {
    for (const std::string dt : {"f32", "f64"}) {
      const nlohmann::json& cfg = ref.meta["runs"][run];
      Run straight = make_run(ctx, cfg, init_params(ref, dt));
      Run first = make_run(ctx, cfg, init_params(ref, dt));
      for (int s = 1; s <= steps; ++s) {
        set_grads(ctx, straight, ref, dt, s);
        straight.opt->step();
      }
      for (int s = 1; s <= half; ++s) {
        set_grads(ctx, first, ref, dt, s);
        first.opt->step();
      }
      // Checkpoint: parameters under their names plus the optimizer state, in one file.
      std::vector<std::pair<std::string, Tensor>> ckpt = first.opt->state_tensors();
      CHECK(!ckpt.empty());
      for (size_t i = 0; i < first.params.size(); ++i)
        ckpt.emplace_back(pname(i), ctx.clone(*first.params[i]));
      const std::string path = test::ref_dir() + "/optim_roundtrip_" + run + "_" + dt + ".bin";
      write_tensor_file(path, {{"step", half}}, ckpt);
      const TensorFile loaded = read_tensor_file(path);
      std::remove(path.c_str());

      std::vector<Tensor> resumed_init;
      for (size_t i = 0; i < first.params.size(); ++i) resumed_init.push_back(loaded.get(pname(i)));
      Run resumed = make_run(ctx, cfg, resumed_init);
      resumed.opt->load_state(loaded.tensors);  // ignores the non-"optimizer." entries
      for (size_t i = 0; i < first.params.size(); ++i)
        CHECK(resumed.opt->step_count(pname(i)) == first.opt->step_count(pname(i)));
      for (int s = half + 1; s <= steps; ++s) {
        set_grads(ctx, resumed, ref, dt, s);
        resumed.opt->step();
      }
      for (size_t i = 0; i < first.params.size(); ++i)
        DR_CHECK_CLOSE(ctx, *resumed.params[i], *straight.params[i], 0, 0,
                       run + " " + dt + " resumed p" + std::to_string(i));
      auto a = resumed.opt->state_tensors(), b = straight.opt->state_tensors();
      REQUIRE(a.size() == b.size());
      for (size_t k = 0; k < a.size(); ++k) {
        CHECK(a[k].first == b[k].first);
        CHECK(std::memcmp(a[k].second.raw(), b[k].second.raw(), a[k].second.nbytes()) == 0);
      }
    }
  }
}

TEST_CASE("optimizer: load_state is strict and names the tensor") {
  Context ctx(Device::cpu(), 5);
  Tensor w = test::random_tensor(ctx, {3, 4}), b = test::random_tensor(ctx, {4});
  w.set_requires_grad(true);
  b.set_requires_grad(true);
  auto make = [&](OptimizerKind kind) {
    ParamGroup g;
    g.params = {{"fc.weight", &w}, {"fc.bias", &b}};
    g.base_lr = 0.1;
    g.momentum = 0.9;
    return std::make_unique<Optimizer>(ctx, kind, std::vector<ParamGroup>{g});
  };
  auto adam = make(OptimizerKind::Adam);
  w.set_grad(test::random_tensor(ctx, {3, 4}));
  b.set_grad(test::random_tensor(ctx, {4}));
  adam->step();
  const auto good = adam->state_tensors();
  REQUIRE(good.size() == 6);
  CHECK(good[0].first == "optimizer.fc.weight.step");
  CHECK(good[2].first == "optimizer.fc.weight.exp_avg_sq");

  auto without = [&](const std::string& name) {
    auto v = good;
    v.erase(std::remove_if(v.begin(), v.end(), [&](auto& e) { return e.first == name; }), v.end());
    return v;
  };
  auto with = [&](const std::string& name, const Tensor& t) {
    auto v = good;
    v.emplace_back(name, t);
    return v;
  };
  auto fresh = make(OptimizerKind::Adam);
  CHECK_NOTHROW(fresh->load_state(good));
  CHECK(fresh->step_count("fc.bias") == 1);
  CHECK_THROWS_WITH_AS(fresh->load_state(without("optimizer.fc.bias.exp_avg")),
                       doctest::Contains("missing optimizer state optimizer.fc.bias.exp_avg"),
                       Error);
  // A parameter without any state: an error unless allow_missing (it then starts fresh).
  auto no_bias = without("optimizer.fc.bias.step");
  no_bias = std::vector<std::pair<std::string, Tensor>>(no_bias.begin(), no_bias.begin() + 3);
  CHECK_THROWS_WITH_AS(fresh->load_state(no_bias), doctest::Contains("optimizer.fc.bias.step"),
                       Error);
  CHECK_NOTHROW(fresh->load_state(no_bias, /*allow_missing=*/true));
  CHECK(fresh->step_count("fc.bias") == 0);
  CHECK(fresh->step_count("fc.weight") == 1);
  CHECK_THROWS_WITH_AS(fresh->load_state(with("optimizer.fc.other.exp_avg", good[1].second)),
                       doctest::Contains("unexpected 'optimizer.fc.other.exp_avg'"), Error);
  CHECK_THROWS_WITH_AS(
      fresh->load_state(with("optimizer.fc.bias.momentum_buffer", Tensor::host_zeros({4}))),
      doctest::Contains("'momentum_buffer' is not a adam state slot"), Error);
  CHECK_THROWS_WITH_AS(fresh->load_state(with("optimizer.fc.bias.exp_avg", good[4].second)),
                       doctest::Contains("appears more than once"), Error);
  auto bad_shape = without("optimizer.fc.weight.exp_avg");
  bad_shape.emplace_back("optimizer.fc.weight.exp_avg", Tensor::host_zeros({4, 3}));
  CHECK_THROWS_WITH_AS(fresh->load_state(bad_shape),
                       doctest::Contains("'optimizer.fc.weight.exp_avg' is f32(4,3)"), Error);
  auto bad_dtype = without("optimizer.fc.weight.exp_avg");
  bad_dtype.emplace_back("optimizer.fc.weight.exp_avg", Tensor::host_zeros({3, 4}, DType::F64));
  CHECK_THROWS_AS(fresh->load_state(bad_dtype), Error);
  auto bad_step = without("optimizer.fc.weight.step");
  bad_step.emplace_back("optimizer.fc.weight.step", Tensor::host_from<int64_t>({1}, {0}));
  CHECK_THROWS_WITH_AS(fresh->load_state(bad_step), doctest::Contains("step count >= 1"), Error);
  // A failed load leaves the state as it was.
  CHECK(fresh->step_count("fc.weight") == 1);

  // SGD: momentum_buffer per parameter; Adam state does not load into it.
  auto sgd = make(OptimizerKind::SGD);
  CHECK_THROWS_WITH_AS(sgd->load_state(good), doctest::Contains("is not a sgd state slot"), Error);
  CHECK_THROWS_WITH_AS(sgd->load_state({}), doctest::Contains("optimizer.fc.weight.momentum_buffer"),
                       Error);
  sgd->step();
  auto sgd_state = sgd->state_tensors();
  REQUIRE(sgd_state.size() == 2);
  CHECK(sgd_state[1].first == "optimizer.fc.bias.momentum_buffer");
  CHECK_NOTHROW(make(OptimizerKind::SGD)->load_state(sgd_state));
}

TEST_CASE("optimizer: torch's hyper-parameter checks and skipped parameters") {
  Context ctx;
  Tensor w = test::random_tensor(ctx, {5});
  w.set_requires_grad(true);
  auto group = [&](auto edit) {
    ParamGroup g;
    g.params = {{"w", &w}};
    edit(g);
    return std::vector<ParamGroup>{g};
  };
  CHECK_THROWS_WITH_AS(Optimizer(ctx, OptimizerKind::SGD, group([](ParamGroup& g) {
                         g.nesterov = true;
                       })),
                       doctest::Contains("nesterov momentum requires a momentum"), Error);
  CHECK_THROWS_AS(Optimizer(ctx, OptimizerKind::SGD, group([](ParamGroup& g) {
                    g.nesterov = true, g.momentum = 0.9, g.dampening = 0.1;
                  })),
                  Error);
  CHECK_THROWS_WITH_AS(Optimizer(ctx, OptimizerKind::Adam, group([](ParamGroup& g) {
                         g.base_lr = -1;
                       })),
                       doctest::Contains("invalid learning rate"), Error);
  CHECK_THROWS_WITH_AS(Optimizer(ctx, OptimizerKind::AdamW, group([](ParamGroup& g) {
                         g.beta2 = 1.0;
                       })),
                       doctest::Contains("invalid betas"), Error);
  CHECK_THROWS_WITH_AS(Optimizer(ctx, OptimizerKind::Adam, group([](ParamGroup& g) {
                         g.params.push_back({"w", nullptr});
                       })),
                       doctest::Contains("'w' appears more than once"), Error);
  Tensor w_view = w.reshape({1, 5});  // same memory as w
  CHECK_THROWS_WITH_AS(Optimizer(ctx, OptimizerKind::Adam, group([&](ParamGroup& g) {
                         g.params.push_back({"w_view", &w_view});
                       })),
                       doctest::Contains("'w' and 'w_view' are the same tensor"), Error);
  CHECK_THROWS_AS(train::optimizer_kind_from_name("rmsprop"), Error);

  // lr starts at base_lr; an lr edited to an invalid value is caught by step().
  Optimizer opt(ctx, OptimizerKind::AdamW, group([](ParamGroup& g) { g.base_lr = 0.5; }));
  CHECK(opt.groups()[0].lr == 0.5);
  // No gradient: nothing moves and no state appears (torch skips p.grad is None).
  std::vector<double> before = test::to_doubles(ctx, w);
  opt.step();
  CHECK(test::to_doubles(ctx, w) == before);
  CHECK(opt.state_tensors().empty());
  w.set_grad(test::random_tensor(ctx, {5}));
  opt.step();
  CHECK(test::to_doubles(ctx, w) != before);
  CHECK(opt.step_count("w") == 1);
  opt.zero_grad();
  CHECK(!w.grad().defined());
  opt.groups()[0].lr = std::nan("");
  w.set_grad(test::random_tensor(ctx, {5}));
  CHECK_THROWS_WITH_AS(opt.step(), doctest::Contains("invalid learning rate"), Error);
}

TEST_CASE("clip_grad_norm: total norm, skipped parameters, no-op below max_norm") {
  Context ctx(Device::cpu(), 11);
  Tensor a = test::random_tensor(ctx, {100003}), b = test::random_tensor(ctx, {7}),
         c = test::random_tensor(ctx, {3});
  for (Tensor* t : {&a, &b, &c}) t->set_requires_grad(true);
  std::vector<Tensor*> params{&a, &b, &c};
  CHECK(train::clip_grad_norm(ctx, params, 1.0) == 0.0);  // no gradients at all
  Tensor ga = test::random_tensor(ctx, {100003}), gb = test::random_tensor(ctx, {7});
  a.set_grad(ctx.clone(ga));
  b.set_grad(ctx.clone(gb));  // c has none: skipped
  // Reference in long double: the norm of the two per-tensor norms (each rounded to float).
  auto sumsq = [&](const Tensor& t) {
    long double s = 0;
    for (double v : test::to_doubles(ctx, t)) s += (long double)v * v;
    return (long double)(float)std::sqrt((double)s);
  };
  const long double na = sumsq(ga), nb = sumsq(gb);
  const double want = (double)(float)std::sqrt((double)(na * na + nb * nb));
  const double norm = train::grad_norm(ctx, params);
  CHECK(norm == want);
  // max_norm above the norm: gradients untouched, bit for bit.
  CHECK(train::clip_grad_norm(ctx, params, norm * 2) == norm);
  DR_CHECK_CLOSE(ctx, a.grad(), ga, 0, 0, "unclipped");
  // Below: scaled by max_norm / (norm + 1e-6) to the new norm max_norm.
  CHECK(train::clip_grad_norm(ctx, params, 2.5) == norm);
  const float coef = 2.5f / (float(norm) + 1e-6f);
  std::vector<double> ga_d = test::to_doubles(ctx, ga), a_d = test::to_doubles(ctx, a.grad());
  bool scaled = true;
  for (size_t i = 0; i < ga_d.size(); ++i) scaled = scaled && a_d[i] == double(float(ga_d[i]) * coef);
  CHECK(scaled);
  CHECK(std::fabs(train::grad_norm(ctx, params) - 2.5) < 1e-5);
  CHECK_THROWS_AS(train::clip_grad_norm(ctx, params, -1), Error);
}

TEST_CASE("gpu: optimizer updates match the CPU bit for bit") {
  Context cpu(Device::cpu(), 21), gpu(Device::cuda(0), 21);
  const std::vector<int64_t> sizes{0, 1, 255, 257, 100003};
  struct Case {
    OptimizerKind kind;
    double momentum, dampening;
    bool nesterov;
  };
  for (const Case& cs : {Case{OptimizerKind::SGD, 0, 0, false}, Case{OptimizerKind::SGD, 0.9, 0.1, false},
                         Case{OptimizerKind::SGD, 0.9, 0, true}, Case{OptimizerKind::Adam, 0, 0, false},
                         Case{OptimizerKind::AdamW, 0, 0, false}}) {
    std::vector<Tensor> pc, pg;
    for (int64_t n : sizes) {
      pc.push_back(test::random_tensor(cpu, {n}));
      pg.push_back(gpu.to(pc.back(), gpu.device()));
      pc.back().set_requires_grad(true);
      pg.back().set_requires_grad(true);
    }
    auto groups = [&](std::vector<Tensor>& p) {
      std::vector<ParamGroup> gs(2);
      for (size_t i = 0; i < p.size(); ++i) gs[i % 2].params.emplace_back(pname(i), &p[i]);
      for (int k = 0; k < 2; ++k) {
        gs[k].base_lr = k ? 0.01 : 0.1;
        gs[k].weight_decay = k ? 0.0 : 1e-2;
        gs[k].momentum = cs.momentum;
        gs[k].dampening = cs.dampening;
        gs[k].nesterov = cs.nesterov;
      }
      return gs;
    };
    Optimizer oc(cpu, cs.kind, groups(pc)), og(gpu, cs.kind, groups(pg));
    const std::string what = std::string(train::optimizer_kind_name(cs.kind)) + " momentum " +
                             std::to_string(cs.momentum) + (cs.nesterov ? " nesterov" : "");
    for (int s = 0; s < 4; ++s) {
      for (size_t i = 0; i < sizes.size(); ++i) {
        Tensor g = test::random_tensor(cpu, {sizes[i]});
        pc[i].set_grad(g);
        pg[i].set_grad(gpu.to(g, gpu.device()));
      }
      oc.step();
      og.step();
      for (size_t i = 0; i < sizes.size(); ++i)
        DR_CHECK_CLOSE(gpu, pg[i], pc[i], 0, 0,
                       what + " step " + std::to_string(s) + " n=" + std::to_string(sizes[i]));
    }
    // The CUDA optimizer's state loads on the CPU (and equals the CPU's own).
    auto sg = og.state_tensors(), sc = oc.state_tensors();
    REQUIRE(sg.size() == sc.size());
    for (size_t k = 0; k < sg.size(); ++k)
      DR_CHECK_CLOSE(cpu, sg[k].second, sc[k].second, 0, 0, what + " " + sg[k].first);
    Optimizer oc2(cpu, cs.kind, groups(pc));
    CHECK_NOTHROW(oc2.load_state(sg));
  }
}

TEST_CASE("gpu: clip_grad_norm matches the CPU and is deterministic") {
  Context cpu(Device::cpu(), 31), gpu(Device::cuda(0), 31);
  const std::vector<int64_t> sizes{0, 1, 7, 256, 257, 65537, 1000003};
  for (double max_norm : {1.0, 1e9}) {
    std::vector<Tensor> pc, pg, grads;
    for (int64_t n : sizes) {
      grads.push_back(test::random_tensor(cpu, {n}));
      pc.push_back(test::random_tensor(cpu, {n}));
      pg.push_back(gpu.to(pc.back(), gpu.device()));
    }
    auto ptrs = [](std::vector<Tensor>& v) {
      std::vector<Tensor*> p;
      for (Tensor& t : v) p.push_back(&t);
      return p;
    };
    auto feed = [&]() {
      for (size_t i = 0; i < sizes.size(); ++i) {
        pc[i].set_requires_grad(true);
        pg[i].set_requires_grad(true);
        pc[i].set_grad(cpu.clone(grads[i]));
        pg[i].set_grad(gpu.to(grads[i], gpu.device()));
      }
    };
    feed();
    const double nc = train::clip_grad_norm(cpu, ptrs(pc), max_norm);
    const double ng = train::clip_grad_norm(gpu, ptrs(pg), max_norm);
    // Both sum squares in double in different orders; after rounding to float they agree
    // to an ulp at most.
    CHECK_MESSAGE(std::fabs(nc - ng) <= 1e-6 * nc, "norm cpu " << nc << " gpu " << ng);
    for (size_t i = 0; i < sizes.size(); ++i)
      DR_CHECK_CLOSE(gpu, pg[i].grad(), pc[i].grad(), 2e-6, 1e-7,
                     "clipped n=" + std::to_string(sizes[i]));
    std::vector<std::vector<double>> first;
    for (Tensor& t : pg) first.push_back(test::to_doubles(gpu, t.grad()));
    feed();
    CHECK(train::clip_grad_norm(gpu, ptrs(pg), max_norm) == ng);  // same bits on a rerun
    for (size_t i = 0; i < sizes.size(); ++i) CHECK(test::to_doubles(gpu, pg[i].grad()) == first[i]);
    CHECK(train::grad_norm(gpu, ptrs(pg)) <= std::min(max_norm, ng) * (1 + 1e-6));
  }
}
