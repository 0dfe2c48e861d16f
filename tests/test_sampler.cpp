// BalancedPositiveNegativeSampler: counts and kinds against the torchvision formula,
// edge cases, reproducibility by seed, the injection hook replaying torchvision's draws
// (tools/ref/matcher.py), uniformity, and CUDA labels against CPU labels ("gpu: ").
#include <algorithm>
#include <cmath>

#include "detector/sampler.h"
#include "tests/testing.h"

using namespace dr;

namespace {

using Sampler = BalancedPositiveNegativeSampler;

std::vector<int64_t> to_i64(Context& ctx, const Tensor& t) {
  Tensor h = ctx.to_host(t);
  return std::vector<int64_t>(h.data<int64_t>(), h.data<int64_t>() + h.numel());
}

// n labels: about a fifth positive (classes 1..3), half negative, the rest ignored.
Tensor random_labels(Context& ctx, int64_t n) {
  std::vector<double> u = test::to_doubles(ctx, test::random_tensor(ctx, {n}, 0, 1));
  std::vector<float> l(n);
  for (int64_t i = 0; i < n; ++i)
    l[i] = u[i] < 0.2 ? float(1 + int(u[i] * 15)) : (u[i] < 0.7 ? 0.0f : -1.0f);
  return Tensor::host_from<float>({n}, l);
}

// Every property torchvision's sampler guarantees, from the labels alone.
void check_sample(Context& ctx, const Sampler& s, const Tensor& labels, const SampledIndices& r,
                  const std::string& what) {
  std::vector<double> l = test::to_doubles(ctx, labels);
  int64_t npos = 0, nneg = 0;
  for (double v : l) {
    npos += v >= 1;
    nneg += v == 0;
  }
  const int64_t want_pos = std::min<int64_t>(int64_t(s.batch_size_per_image * s.positive_fraction), npos);
  const int64_t want_neg = std::min<int64_t>(s.batch_size_per_image - want_pos, nneg);
  std::vector<int64_t> pos = to_i64(ctx, r.pos), neg = to_i64(ctx, r.neg), both = to_i64(ctx, r.both);
  INFO(what);
  CHECK(int64_t(pos.size()) == want_pos);
  CHECK(int64_t(neg.size()) == want_neg);
  CHECK(std::adjacent_find(pos.begin(), pos.end(), std::greater_equal<int64_t>()) == pos.end());
  CHECK(std::adjacent_find(neg.begin(), neg.end(), std::greater_equal<int64_t>()) == neg.end());
  int64_t wrong = 0;
  for (int64_t i : pos) wrong += !(i >= 0 && i < int64_t(l.size()) && l[i] >= 1);
  for (int64_t i : neg) wrong += !(i >= 0 && i < int64_t(l.size()) && l[i] == 0);
  CHECK(wrong == 0);
  std::vector<int64_t> merged(pos.size() + neg.size());
  std::merge(pos.begin(), pos.end(), neg.begin(), neg.end(), merged.begin());
  CHECK(both == merged);  // ascending, and disjoint since the kinds differ
}

}  // namespace

TEST_CASE("sampler: counts, kinds, order and disjointness (f32, f64, int64 labels)") {
  Context ctx(Device::cpu(), 3);
  Sampler rpn = Sampler::rpn(), roi = Sampler::roi_heads();
  CHECK(rpn.batch_size_per_image == 256);
  CHECK(roi.positive_fraction == 0.25);
  std::vector<Tensor> labels = {random_labels(ctx, 1000), random_labels(ctx, 37),
                                random_labels(ctx, 0), random_labels(ctx, 5000)};
  for (const Sampler& s : {rpn, roi, Sampler(7, 0.3)}) {
    std::vector<SampledIndices> r = s(ctx, labels);
    REQUIRE(r.size() == labels.size());
    for (size_t i = 0; i < labels.size(); ++i)
      check_sample(ctx, s, labels[i], r[i], "image " + std::to_string(i));
  }
  // The label dtype does not change the draw: same seed, same indices.
  Tensor l = labels[0];
  std::vector<double> d = test::to_doubles(ctx, l);
  Tensor l64 = Tensor::host_from<double>(l.shape(), d);
  Tensor li = Tensor::host_from<int64_t>(l.shape(), std::vector<int64_t>(d.begin(), d.end()));
  std::vector<std::vector<int64_t>> got;
  for (const Tensor& x : {l, l64, li}) {
    Context c(Device::cpu(), 11);
    SampledIndices r = rpn(c, {x})[0];
    check_sample(c, rpn, x, r, std::string("dtype ") + dtype_name(x.dtype()));
    got.push_back(to_i64(c, r.both));
  }
  CHECK(got[0] == got[1]);
  CHECK(got[0] == got[2]);
  CHECK_THROWS_AS(rpn(ctx, {ctx.zeros({3, 2})}), Error);
  CHECK_THROWS_AS(rpn(ctx, {ctx.zeros({3}), ctx.zeros({3}, DType::F64)}), Error);
  CHECK_THROWS_AS(rpn(ctx, {ctx.zeros({3}, DType::U8)}), Error);
  CHECK_THROWS_AS(Sampler(8, 1.5), Error);
  CHECK(rpn(ctx, {}).empty());
}

TEST_CASE("sampler: all positive, all negative, too few, nothing to sample") {
  Context ctx(Device::cpu(), 4);
  Sampler s(16, 0.5);
  auto run = [&](const Tensor& l) { return s(ctx, {l})[0]; };
  // All positive: 8 positives (int(16 * 0.5)), no negatives to fill the rest.
  SampledIndices a = run(Tensor::host_from<float>({40}, std::vector<float>(40, 2.0f)));
  CHECK(a.pos.numel() == 8);
  CHECK(a.neg.numel() == 0);
  // All negative: no positives, so the whole batch is negatives.
  SampledIndices b = run(ctx.zeros({40}));
  CHECK(b.pos.numel() == 0);
  CHECK(b.neg.numel() == 16);
  // Too few of both: everything is taken, in order.
  SampledIndices c = run(Tensor::host_from<float>({6}, {-1, 1, 0, 3, -1, 0}));
  CHECK(to_i64(ctx, c.pos) == std::vector<int64_t>{1, 3});
  CHECK(to_i64(ctx, c.neg) == std::vector<int64_t>{2, 5});
  CHECK(to_i64(ctx, c.both) == std::vector<int64_t>{1, 2, 3, 5});
  // Only ignored labels, or a batch of zero.
  SampledIndices d = run(Tensor::host_from<float>({3}, {-1, -1, -1}));
  CHECK(d.both.numel() == 0);
  SampledIndices e = Sampler(0, 0.5)(ctx, {ctx.zeros({5})})[0];
  CHECK(e.both.numel() == 0);
  // int(B * fraction) truncates: 0.3 * 10 = 3.0000000000000004 -> 3, 0.29 * 10 -> 2.
  Tensor ones = Tensor::host_from<float>({20}, std::vector<float>(20, 1.0f));
  CHECK(Sampler(10, 0.3)(ctx, {ones})[0].pos.numel() == 3);
  CHECK(Sampler(10, 0.29)(ctx, {ones})[0].pos.numel() == 2);
}

TEST_CASE("sampler: reproducible for a seed, different for another, images in order") {
  Context c0(Device::cpu(), 0);
  std::vector<Tensor> labels = {random_labels(c0, 3000), random_labels(c0, 2000)};
  Sampler s = Sampler::rpn();
  auto draw = [&](uint64_t seed) {
    Context c(Device::cpu(), seed);
    std::vector<std::vector<int64_t>> r;
    for (const SampledIndices& x : s(c, labels)) r.push_back(to_i64(c, x.both));
    return r;
  };
  CHECK(draw(42) == draw(42));
  CHECK(draw(42) != draw(43));
  // Two images in one call draw what two calls in sequence draw (image order).
  Context a(Device::cpu(), 9), b(Device::cpu(), 9);
  std::vector<SampledIndices> both = s(a, labels);
  std::vector<int64_t> first = to_i64(b, s(b, {labels[0]})[0].both);
  std::vector<int64_t> second = to_i64(b, s(b, {labels[1]})[0].both);
  CHECK(to_i64(a, both[0].both) == first);
  CHECK(to_i64(a, both[1].both) == second);
}

TEST_CASE("sampler: every candidate can be chosen, about equally often") {
  // 20 positives and 30 negatives, 5 + 5 drawn per run: each positive is expected
  // 2000 * 5/20 = 500 times, each negative 2000 * 5/30 = 333.3 times. The binomial
  // standard deviations are 19.4 and 16.7; 5 sigma (about +-100 and +-85) leaves a
  // deterministic (seeded) test far from a false alarm but catches a biased or
  // prefix-only draw.
  Context ctx(Device::cpu(), 123);
  std::vector<float> l(60, -1.0f);
  for (int i = 0; i < 20; ++i) l[3 * i] = 1.0f;
  for (int i = 0; i < 30; ++i) l[3 * (i % 20) + 1 + i / 20] = 0.0f;
  Tensor labels = Tensor::host_from<float>({60}, l);
  Sampler s(10, 0.5);
  std::vector<int> count(60, 0);
  const int runs = 2000;
  for (int r = 0; r < runs; ++r) {
    SampledIndices x = s(ctx, {labels})[0];
    REQUIRE(x.pos.numel() == 5);
    REQUIRE(x.neg.numel() == 5);
    for (int64_t i : to_i64(ctx, x.both)) count[i]++;
  }
  int pos_bad = 0, neg_bad = 0, ignored_hits = 0, never = 0;
  for (int i = 0; i < 60; ++i) {
    never += (l[i] >= 0 && count[i] == 0);
    if (l[i] == 1.0f) pos_bad += std::abs(count[i] - 500) > 100;
    else if (l[i] == 0.0f) neg_bad += std::abs(count[i] - 333.3) > 85;
    else ignored_hits += count[i];
  }
  CHECK(never == 0);
  CHECK(pos_bad == 0);
  CHECK(neg_bad == 0);
  CHECK(ignored_hits == 0);
}

TEST_CASE("sampler: the injection hook replays torchvision's draws") {
  const TensorFile& ref = test::reference("matcher");
  REQUIRE(ref.meta["samp_cases"].size() >= 10);
  for (const auto& c : ref.meta["samp_cases"]) {
    const std::string p = "samp." + c["name"].get<std::string>() + ".";
    Sampler s(c["batch_size_per_image"].get<int64_t>(), c["positive_fraction"].get<double>());
    const Tensor& labels = ref.get(p + "labels");
    Context ctx(Device::cpu(), 8);
    std::vector<int64_t> want_pos = to_i64(ctx, ref.get(p + "pos"));
    std::vector<int64_t> want_neg = to_i64(ctx, ref.get(p + "neg"));
    int calls = 0;
    s.draw_hook = [&](int64_t image, const Tensor& l) {
      ++calls;
      CHECK(image == 0);
      CHECK(l.numel() == labels.numel());
      // Any order is accepted: hand the indices over reversed.
      Sampler::Draw d{{want_pos.rbegin(), want_pos.rend()}, {want_neg.rbegin(), want_neg.rend()}};
      return d;
    };
    const uint64_t before = Rng(ctx.rng()).next_u64();
    SampledIndices r = s(ctx, {labels})[0];
    INFO(p);
    CHECK(calls == 1);
    CHECK(to_i64(ctx, r.pos) == want_pos);
    CHECK(to_i64(ctx, r.neg) == want_neg);
    check_sample(ctx, s, labels, r, p);  // torch's counts equal the formula's
    CHECK(ctx.rng().next_u64() == before);  // the hook replaces the draw: no Rng use
  }
}

TEST_CASE("sampler: an injected draw the sampler could not have made is an error") {
  Context ctx(Device::cpu(), 1);
  Tensor labels = Tensor::host_from<float>({8}, {1, 1, 1, 0, 0, 0, 0, -1});
  Sampler s(4, 0.5);  // 2 positives, 2 negatives
  auto with = [&](Sampler::Draw d) {
    Sampler t = s;
    t.draw_hook = [d](int64_t, const Tensor&) { return d; };
    return t(ctx, {labels});
  };
  CHECK_NOTHROW(with({{2, 0}, {6, 3}}));
  CHECK_THROWS_WITH_AS(with({{0}, {3, 4}}), doctest::Contains("takes 2"), Error);      // count
  CHECK_THROWS_WITH_AS(with({{0, 3}, {4, 5}}), doctest::Contains("not a positive"), Error);
  CHECK_THROWS_WITH_AS(with({{0, 1}, {4, 7}}), doctest::Contains("not a negative"), Error);
  CHECK_THROWS_WITH_AS(with({{1, 1}, {4, 5}}), doctest::Contains("twice"), Error);
  CHECK_THROWS_AS(with({{0, 1}, {4, 99}}), Error);  // out of range
}

TEST_CASE("gpu: sampler on CUDA labels draws what it draws on CPU labels") {
  Context c(Device::cpu(), 21), g(Device::cuda(0), 21), src(Device::cpu(), 2);
  std::vector<Tensor> host = {random_labels(src, 70001), random_labels(src, 1), random_labels(src, 0),
                              random_labels(src, 999)};
  std::vector<Tensor> dev, host_i, dev_i;
  for (const Tensor& l : host) {
    dev.push_back(g.to(l, g.device()));
    std::vector<double> d = test::to_doubles(src, l);
    host_i.push_back(Tensor::host_from<int64_t>(l.shape(), std::vector<int64_t>(d.begin(), d.end())));
    dev_i.push_back(g.to(host_i.back(), g.device()));
  }
  Sampler s = Sampler::roi_heads();
  for (int round = 0; round < 2; ++round) {  // f32 labels, then int64 labels
    std::vector<SampledIndices> rc = s(c, round ? host_i : host);
    std::vector<SampledIndices> rg = s(g, round ? dev_i : dev);
    REQUIRE(rg.size() == rc.size());
    for (size_t i = 0; i < rc.size(); ++i) {
      CHECK(rg[i].pos.is_cuda());
      DR_CHECK_CLOSE(g, rg[i].pos, rc[i].pos, 0, 0, "pos " + std::to_string(i));
      DR_CHECK_CLOSE(g, rg[i].neg, rc[i].neg, 0, 0, "neg " + std::to_string(i));
      DR_CHECK_CLOSE(g, rg[i].both, rc[i].both, 0, 0, "both " + std::to_string(i));
    }
  }
}
