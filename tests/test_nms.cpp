// NMS, batched NMS, segmented NMS and top-n per level: hand-computed cases, torchvision
// parity on tie-free scores, CPU vs CUDA.
#include <omp.h>

#include <algorithm>
#include <cmath>

#include "detector/nms.h"
#include "detector/topk.h"
#include "tests/testing.h"

using namespace dr;

namespace {

Tensor boxes_f(const std::vector<float>& v) {
  return Tensor::host_from<float>({int64_t(v.size() / 4), 4}, v);
}
Tensor vec_f(const std::vector<float>& v) { return Tensor::host_from<float>({int64_t(v.size())}, v); }
std::vector<int64_t> ints(const Tensor& t) {
  return std::vector<int64_t>(t.data<int64_t>(), t.data<int64_t>() + t.numel());
}

// Random boxes clustered in a small area (many overlaps) with distinct scores.
void random_problem(Context& ctx, int64_t n, float extent, Tensor& boxes, Tensor& scores,
                    Tensor& cats, int ncat) {
  boxes = test::random_tensor(ctx, {n, 4}, 0, extent);
  float* b = boxes.data<float>();
  for (int64_t i = 0; i < n; ++i) {
    b[4 * i + 2] = b[4 * i] + 4 + b[4 * i + 2] * 0.4f;
    b[4 * i + 3] = b[4 * i + 1] + 4 + b[4 * i + 3] * 0.4f;
  }
  scores = Tensor::host({n});
  std::vector<int64_t> perm(n);
  for (int64_t i = 0; i < n; ++i) perm[i] = i;
  for (int64_t i = n - 1; i > 0; --i) std::swap(perm[i], perm[ctx.rng().randint(i + 1)]);
  for (int64_t i = 0; i < n; ++i) scores.data<float>()[i] = (float(perm[i]) + 0.5f) / float(n);
  cats = Tensor::host({n}, DType::I64);
  for (int64_t i = 0; i < n; ++i) cats.data<int64_t>()[i] = ctx.rng().randint(ncat);
}

}  // namespace

TEST_CASE("nms: hand-computed cases") {
  Context ctx;
  // 0: A, 1: B = A shifted by 1 (IoU 81/119 = 0.68), 2: far away, 3: identical to A, top score.
  Tensor b = boxes_f({0, 0, 10, 10, 1, 1, 11, 11, 20, 20, 30, 30, 0, 0, 10, 10});
  Tensor s = vec_f({0.9f, 0.8f, 0.7f, 0.95f});
  CHECK(ints(nms(ctx, b, s, 0.5)) == std::vector<int64_t>{3, 2});
  CHECK(ints(nms(ctx, b, s, 0.7)) == std::vector<int64_t>{3, 1, 2});
  CHECK(ints(nms(ctx, b, s, 1.0)) == std::vector<int64_t>{3, 0, 1, 2});  // IoU 1 is not > 1

  // IoU exactly at the threshold does not suppress (IoU > threshold does).
  Tensor half = boxes_f({0, 0, 2, 1, 0, 0, 1, 1});
  CHECK(ints(nms(ctx, half, vec_f({0.6f, 0.5f}), 0.5)) == std::vector<int64_t>{0, 1});
  CHECK(ints(nms(ctx, half, vec_f({0.6f, 0.5f}), 0.49)) == std::vector<int64_t>{0});

  // Boxes sharing only a border have IoU 0.
  Tensor edge = boxes_f({0, 0, 5, 5, 5, 0, 10, 5, 0, 5, 5, 10});
  CHECK(ints(nms(ctx, edge, vec_f({0.1f, 0.3f, 0.2f}), 0.0)) == std::vector<int64_t>{1, 2, 0});

  // Tie rule: equal scores are visited in index order.
  Tensor same = boxes_f({0, 0, 4, 4, 0, 0, 4, 4, 0, 0, 4, 4});
  CHECK(ints(nms(ctx, same, vec_f({0.5f, 0.5f, 0.5f}), 0.5)) == std::vector<int64_t>{0});
  CHECK(ints(nms(ctx, edge, vec_f({0.5f, 0.5f, 0.5f}), 0.5)) == std::vector<int64_t>{0, 1, 2});

  // Empty input.
  CHECK(nms(ctx, boxes_f({}), vec_f({}), 0.5).numel() == 0);

  // batched_nms: identical boxes of different categories both survive.
  Tensor cat = Tensor::host_from<int64_t>({4}, {0, 0, 1, 1});
  CHECK(ints(batched_nms(ctx, b, s, Tensor::host_from<int64_t>({4}, {0, 1, 0, 0}), 0.5)) ==
        std::vector<int64_t>{3, 1, 2});
  CHECK(ints(batched_nms(ctx, same, vec_f({0.5f, 0.7f, 0.6f}),
                         Tensor::host_from<int64_t>({3}, {0, 1, 0}), 0.5)) ==
        std::vector<int64_t>{1, 2});

  // Segments are independent problems: [b | same], with segment-local suppression.
  Tensor both = boxes_f({0, 0, 10, 10, 1, 1, 11, 11, 20, 20, 30, 30, 0, 0, 10, 10, 0, 0, 10, 10});
  Tensor sc = vec_f({0.9f, 0.8f, 0.7f, 0.95f, 0.99f});
  SegmentedKeep k = batched_nms_segments(ctx, both, sc, Tensor(), {0, 4, 4, 5}, 0.5);
  CHECK(k.counts == std::vector<int64_t>{2, 0, 1});
  CHECK(ints(k.indices) == std::vector<int64_t>{3, 2, 4});
  CHECK_THROWS_AS(nms(ctx, b, vec_f({0.1f}), 0.5), Error);
  CHECK_THROWS_AS(batched_nms_segments(ctx, b, s, Tensor(), {0, 3}, 0.5), Error);
}

TEST_CASE("parity: nms and batched_nms match torchvision (tie-free scores)") {
  Context ctx;
  const TensorFile& ref = test::reference("detops");
  for (int n : {0, 1, 37, 300, 1200}) {
    const std::string p = "nms" + std::to_string(n) + ".";
    const Tensor& b = ref.get(p + "boxes");
    const Tensor& s = ref.get(p + "scores");
    const Tensor& c = ref.get(p + "idxs");
    for (int thr : {3, 5, 7}) {
      const std::string k = "keep" + std::to_string(thr);
      if (!ref.contains(p + k)) continue;
      DR_CHECK_CLOSE(ctx, nms(ctx, b, s, thr / 10.0), ref.get(p + k), 0, 0, p + k);
      DR_CHECK_CLOSE(ctx, batched_nms(ctx, b, s, c, thr / 10.0), ref.get(p + "b" + k), 0, 0,
                     p + "b" + k);
    }
  }
}

TEST_CASE("topk: top_n_per_level hand-computed and matches torchvision rpn._get_top_n_idx") {
  Context ctx;
  // Levels of 3 and 2 scores, top 2: level 0 -> [1, 0] (ties: lower index first), level 1 -> [4, 3].
  Tensor s = Tensor::host_from<float>({1, 5}, {0.5f, 0.9f, 0.5f, 0.1f, 0.2f});
  Tensor idx = top_n_per_level(ctx, s, {3, 2}, 2);
  CHECK(ints(idx) == std::vector<int64_t>{1, 0, 4, 3});
  CHECK(top_n_per_level(ctx, Tensor::host({0, 5}), {3, 2}, 2).shape() == Shape{0, 4});
  const TensorFile& ref = test::reference("detops");
  DR_CHECK_CLOSE(ctx, top_n_per_level(ctx, ref.get("topn.objectness"), {30, 12, 7}, 10),
                 ref.get("topn.idx"), 0, 0, "top_n_per_level");
}

TEST_CASE("gpu: nms, batched and segmented, matches the CPU") {
  Context cpu(Device::cpu(), 5), gpu(Device::cuda(0), 5);
  // Segment sizes around the 64-box tile edges, an empty segment, and one large one.
  std::vector<int64_t> sizes = {0, 1, 63, 64, 65, 129, 0, 1000, 4000};
  std::vector<int64_t> offsets = {0};
  for (int64_t n : sizes) offsets.push_back(offsets.back() + n);
  Tensor b, s, c;
  random_problem(cpu, offsets.back(), 150.0f, b, s, c, 3);
  Tensor bg = gpu.to(b, gpu.device()), sg = gpu.to(s, gpu.device()), cg = gpu.to(c, gpu.device());
  for (double thr : {0.3, 0.7}) {
    for (bool with_cats : {false, true}) {
      SegmentedKeep kc = batched_nms_segments(cpu, b, s, with_cats ? c : Tensor(), offsets, thr);
      SegmentedKeep kg = batched_nms_segments(gpu, bg, sg, with_cats ? cg : Tensor(), offsets, thr);
      const std::string tag = " thr=" + std::to_string(thr) + (with_cats ? " batched" : "");
      CHECK_MESSAGE(kg.counts == kc.counts, "per-segment counts" << tag);
      DR_CHECK_CLOSE(gpu, kg.indices, kc.indices, 0, 0, "segmented nms" + tag);
    }
  }
  for (int64_t n : {0, 1, 200}) {
    Tensor b1 = b.narrow0(0, n), s1 = s.narrow0(0, n);
    DR_CHECK_CLOSE(gpu, nms(gpu, gpu.to(b1, gpu.device()), gpu.to(s1, gpu.device()), 0.5),
                   nms(cpu, b1, s1, 0.5), 0, 0, "nms n=" + std::to_string(n));
  }
}

TEST_CASE("gpu: top_n_per_level matches the CPU") {
  Context cpu(Device::cpu(), 9), gpu(Device::cuda(0), 9);
  std::vector<int64_t> levels = {1000, 77, 3, 0, 130};
  int64_t a = 0;
  for (int64_t l : levels) a += l;
  for (int64_t n : {0, 1, 3}) {
    Tensor s = test::random_tensor(cpu, {n, a}, -5, 5);  // continuous values: no ties in practice
    for (int64_t top : {0, 50, 2000})
      DR_CHECK_CLOSE(gpu, top_n_per_level(gpu, gpu.to(s, gpu.device()), levels, top),
                     top_n_per_level(cpu, s, levels, top), 0, 0,
                     "top_n n=" + std::to_string(n) + " top=" + std::to_string(top));
  }
}

namespace {

// The plain greedy loop over a whole segment (the contract of kernels/nms.h, written
// without the per-category grouping the kernel uses).
std::vector<int64_t> greedy_reference(const Tensor& boxes, const Tensor& scores,
                                      const Tensor& cats, const std::vector<int64_t>& offsets,
                                      double thr, std::vector<int64_t>& counts) {
  const float* b = boxes.data<float>();
  const float* s = scores.data<float>();
  const int64_t* c = cats.data<int64_t>();
  auto iou = [&](int64_t i, int64_t j) {
    const double ix = std::max(0.0f, std::min(b[4 * i + 2], b[4 * j + 2]) - std::max(b[4 * i], b[4 * j]));
    const double iy = std::max(0.0f, std::min(b[4 * i + 3], b[4 * j + 3]) - std::max(b[4 * i + 1], b[4 * j + 1]));
    const double ai = (b[4 * i + 2] - b[4 * i]) * (b[4 * i + 3] - b[4 * i + 1]);
    const double aj = (b[4 * j + 2] - b[4 * j]) * (b[4 * j + 3] - b[4 * j + 1]);
    return ix * iy / (ai + aj - ix * iy);
  };
  std::vector<int64_t> kept;
  counts.assign(offsets.size() - 1, 0);
  for (size_t g = 0; g + 1 < offsets.size(); ++g) {
    std::vector<int64_t> order;
    for (int64_t i = offsets[g]; i < offsets[g + 1]; ++i) order.push_back(i);
    std::sort(order.begin(), order.end(), [&](int64_t x, int64_t y) { return s[x] > s[y]; });
    std::vector<int64_t> mine;
    for (int64_t i : order) {
      bool keep = true;
      for (int64_t k : mine) keep = keep && !(c[k] == c[i] && iou(k, i) > thr);
      if (keep) mine.push_back(i);
    }
    kept.insert(kept.end(), mine.begin(), mine.end());
    counts[g] = int64_t(mine.size());
  }
  return kept;
}

}  // namespace

TEST_CASE("nms: categories in parallel groups keep what one greedy loop keeps") {
  // Several segments (one empty), many categories, above the kernel's parallel threshold;
  // distinct scores. The IoU here is computed in double, the kernel's in float: boxes on
  // a 1/8 grid make both exact enough that no pair sits at the threshold.
  Context ctx(Device::cpu(), 7);
  const int threads_before = omp_get_max_threads();
  for (int ncat : {1, 5, 40}) {
    Tensor boxes, scores, cats;
    random_problem(ctx, 1500, 60, boxes, scores, cats, ncat);
    float* b = boxes.data<float>();
    for (int64_t i = 0; i < 4 * 1500; ++i) b[i] = std::round(b[i] * 8) / 8;
    const std::vector<int64_t> offsets = {0, 400, 400, 1300, 1500};
    std::vector<int64_t> want_counts;
    const std::vector<int64_t> want =
        greedy_reference(boxes, scores, cats, offsets, 0.5, want_counts);
    for (int threads : {1, 2}) {
      omp_set_num_threads(threads);
      SegmentedKeep k = batched_nms_segments(ctx, boxes, scores, cats, offsets, 0.5);
      CHECK_MESSAGE(ints(k.indices) == want, ncat << " categories, " << threads << " threads");
      CHECK(k.counts == want_counts);
    }
  }
  omp_set_num_threads(threads_before);
}
