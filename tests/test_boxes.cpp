// Box utilities and BoxCoder: hand-computed cases, torchvision parity, CPU vs CUDA.
#include <cmath>

#include "detector/boxes.h"
#include "detector/segments.h"
#include "tests/testing.h"

using namespace dr;

namespace {
Tensor boxes_f(const std::vector<float>& v) { return Tensor::host_from<float>({int64_t(v.size() / 4), 4}, v); }
}  // namespace

TEST_CASE("boxes: hand-computed area, IoU, clip, remove_small_boxes") {
  Context ctx;
  Tensor a = boxes_f({0, 0, 10, 10, 5, 5, 15, 15, 0, 0, 10, 10, 10, 0, 20, 10});
  Tensor area = box_area(ctx, a);
  for (int i = 0; i < 4; ++i) CHECK(area.data<float>()[i] == 100.0f);
  Tensor iou = box_iou(ctx, a, a);  // (4, 4)
  const float* p = iou.data<float>();
  CHECK(p[0 * 4 + 1] == doctest::Approx(25.0 / 175.0));
  CHECK(p[0 * 4 + 2] == 1.0f);  // identical boxes
  CHECK(p[0 * 4 + 3] == 0.0f);  // sharing an edge only
  CHECK(p[1 * 4 + 3] == doctest::Approx(25.0 / 175.0));
  // Empty inputs give empty (or zero-row) results, not errors.
  CHECK(box_iou(ctx, boxes_f({}), a).shape() == Shape{0, 4});
  CHECK(box_iou(ctx, a, boxes_f({})).shape() == Shape{4, 0});
  CHECK(remove_small_boxes(ctx, boxes_f({}), 1.0).numel() == 0);

  Tensor c = clip_boxes_to_image(ctx, boxes_f({-5, -1, 30, 12, 3, 4, 5, 6}), 10, 20);
  std::vector<float> want = {0, 0, 20, 10, 3, 4, 5, 6};
  for (int i = 0; i < 8; ++i) CHECK(c.data<float>()[i] == want[i]);
  // NaN coordinates stay NaN, as with torch.clamp.
  Tensor nan = clip_boxes_to_image(ctx, boxes_f({std::nanf(""), 1, 2, 3}), 10, 20);
  CHECK(std::isnan(nan.data<float>()[0]));
  // Sides >= min_size are kept (a side exactly min_size stays).
  Tensor keep = remove_small_boxes(ctx, boxes_f({0, 0, 2, 5, 0, 0, 1.9f, 5, 0, 0, 5, 2, 1, 1, 1, 1}), 2.0);
  REQUIRE(keep.numel() == 2);
  CHECK(keep.data<int64_t>()[0] == 0);
  CHECK(keep.data<int64_t>()[1] == 2);
  CHECK_THROWS_AS(box_iou(ctx, Tensor::host({3, 5}), a), Error);
}

TEST_CASE("boxes: BoxCoder hand-computed, clamp, and round trip") {
  Context ctx;
  BoxCoder coder = BoxCoder::roi_heads();
  // Proposal (0,0,10,20): w 10, h 20, center (5, 10) (+0 width convention).
  Tensor prop = boxes_f({0, 0, 10, 20});
  Tensor codes = Tensor::host_from<float>({1, 8}, {1, -2, 0, 0, 0, 0, 100, 100});
  Tensor dec = coder.decode(ctx, codes, prop);  // (1, 2, 4)
  REQUIRE(dec.shape() == Shape{1, 2, 4});
  const float* d = dec.data<float>();
  // dx = 1/10 -> center x 5 + 0.1*10 = 6; dy = -2/10 -> center y 10 - 0.2*20 = 6.
  CHECK(d[0] == doctest::Approx(1.0));
  CHECK(d[1] == doctest::Approx(-4.0));
  CHECK(d[2] == doctest::Approx(11.0));
  CHECK(d[3] == doctest::Approx(16.0));
  // dw = 100/5 = 20 is clamped to log(1000/16): width 10 * 62.5 = 625.
  CHECK(d[6] - d[4] == doctest::Approx(625.0).epsilon(1e-5));
  CHECK(d[7] - d[5] == doctest::Approx(1250.0).epsilon(1e-5));

  Context c64;
  Tensor ref = test::random_tensor(c64, {7, 4}, 0, 50, DType::F64);
  Tensor pr = test::random_tensor(c64, {7, 4}, 0, 50, DType::F64);
  for (Tensor* t : {&ref, &pr})
    for (int i = 0; i < 7; ++i) {
      double* r = t->data<double>() + 4 * i;
      r[2] = r[0] + 5 + r[2];
      r[3] = r[1] + 5 + r[3];
    }
  for (BoxCoder bc : {BoxCoder::rpn(), BoxCoder::roi_heads()}) {
    Tensor back = bc.decode(c64, bc.encode(c64, ref, pr), pr).reshape({7, 4});
    DR_CHECK_CLOSE(c64, back, ref, 1e-12, 1e-10, "decode(encode(ref)) == ref");
  }
}

TEST_CASE("parity: box_iou, clip, remove_small_boxes, BoxCoder match torchvision") {
  Context ctx;
  const TensorFile& ref = test::reference("detops");
  DR_CHECK_CLOSE(ctx, box_iou(ctx, ref.get("iou.a"), ref.get("iou.b")), ref.get("iou.out"), 1e-6,
                 1e-7, "box_iou");
  DR_CHECK_CLOSE(ctx, clip_boxes_to_image(ctx, ref.get("clip.boxes"), 90, 110), ref.get("clip.out"),
                 0, 0, "clip_boxes_to_image");
  DR_CHECK_CLOSE(ctx, remove_small_boxes(ctx, ref.get("clip.boxes"), 3.0), ref.get("small.keep"), 0,
                 0, "remove_small_boxes");
  for (const char* name : {"rpn", "roi"}) {
    BoxCoder coder = std::string(name) == "rpn" ? BoxCoder::rpn() : BoxCoder::roi_heads();
    std::string p = std::string("coder.") + name + ".";
    // f32 exp/log may differ from torch's vectorized ones by an ulp or two.
    DR_CHECK_CLOSE(ctx, coder.encode(ctx, ref.get(p + "ref"), ref.get(p + "prop")),
                   ref.get(p + "encoded"), 1e-5, 1e-6, p + "encode");
    DR_CHECK_CLOSE(ctx, coder.decode(ctx, ref.get(p + "codes"), ref.get(p + "prop")),
                   ref.get(p + "decoded"), 1e-5, 1e-4, p + "decode (with the clamp)");
  }
}

TEST_CASE("gpu: box ops match the CPU") {
  Context cpu(Device::cpu(), 11), gpu(Device::cuda(0), 11);
  for (int64_t n : {0, 1, 67, 1025}) {
    const std::string tag = " n=" + std::to_string(n);
    Tensor xy = test::random_tensor(cpu, {n, 4}, -20, 120);
    float* p = xy.data<float>();
    for (int64_t i = 0; i < n; ++i) {
      p[4 * i + 2] = p[4 * i] + std::abs(p[4 * i + 2]) * 0.3f + 0.5f;
      p[4 * i + 3] = p[4 * i + 1] + std::abs(p[4 * i + 3]) * 0.3f + 0.5f;
    }
    Tensor b = test::random_tensor(cpu, {5, 4}, 0, 10);
    for (int i = 0; i < 5; ++i) {
      b.data<float>()[4 * i + 2] += 20;
      b.data<float>()[4 * i + 3] += 20;
    }
    Tensor xg = gpu.to(xy, gpu.device()), bg = gpu.to(b, gpu.device());
    DR_CHECK_CLOSE(gpu, box_area(gpu, xg), box_area(cpu, xy), 0, 0, "box_area" + tag);
    DR_CHECK_CLOSE(gpu, box_iou(gpu, xg, bg), box_iou(cpu, xy, b), 1e-6, 1e-7, "box_iou" + tag);
    DR_CHECK_CLOSE(gpu, clip_boxes_to_image(gpu, xg, 77, 91), clip_boxes_to_image(cpu, xy, 77, 91), 0,
                   0, "clip" + tag);
    DR_CHECK_CLOSE(gpu, remove_small_boxes(gpu, xg, 8.0), remove_small_boxes(cpu, xy, 8.0), 0, 0,
                   "remove_small_boxes" + tag);
    DR_CHECK_CLOSE(gpu, resize_boxes(gpu, xg, 30, 40, 61, 77), resize_boxes(cpu, xy, 30, 40, 61, 77),
                   0, 0, "resize_boxes" + tag);
    Tensor codes = test::random_tensor(cpu, {n, 12}, -3, 3);
    if (n > 0) codes.data<float>()[2] = 50;  // clamped
    Tensor cg = gpu.to(codes, gpu.device());
    for (BoxCoder bc : {BoxCoder::rpn(), BoxCoder::roi_heads()}) {
      // exp/log: CUDA's expf/logf are within 2 ulp of glibc's.
      DR_CHECK_CLOSE(gpu, bc.decode(gpu, cg, xg), bc.decode(cpu, codes, xy), 1e-6, 1e-4,
                     "decode" + tag);
      Tensor shifted = resize_boxes(cpu, xy, 30, 40, 33, 41);  // positive widths: finite logs
      Tensor sg = gpu.to(shifted, gpu.device());
      DR_CHECK_CLOSE(gpu, bc.encode(gpu, sg, xg), bc.encode(cpu, shifted, xy), 1e-5, 1e-6,
                     "encode" + tag);
    }
  }
}

namespace {
// Boxes (n, 4) with sides in [0, 12) around [-20, 120): some tiny, some outside images.
Tensor spread_boxes(Context& ctx, int64_t n) {
  Tensor b = test::random_tensor(ctx, {n, 4}, -20, 120);
  float* p = b.data<float>();
  for (int64_t i = 0; i < n; ++i) {
    p[4 * i + 2] = p[4 * i] + std::abs(p[4 * i + 2]) * 0.1f;
    p[4 * i + 3] = p[4 * i + 1] + std::abs(p[4 * i + 3]) * 0.1f;
  }
  return b;
}
}  // namespace

TEST_CASE("boxes: segmented clip and filter equal per-image clip, remove_small_boxes, threshold") {
  Context ctx(Device::cpu(), 17);
  const std::vector<int64_t> offsets = {0, 40, 40, 101};
  const std::vector<std::pair<int64_t, int64_t>> sizes = {{50, 70}, {10, 10}, {90, 33}};
  Tensor b = spread_boxes(ctx, 101);
  Tensor s = test::random_tensor(ctx, {101}, 0, 1);
  s.data<float>()[3] = 0.5f;  // exactly at the threshold: kept by >=, dropped by >
  Tensor clipped = clip_boxes_segments(ctx, b, offsets, sizes);
  for (int seg = 0; seg < 3; ++seg) {
    const int64_t lo = offsets[seg], n = offsets[seg + 1] - lo;
    DR_CHECK_CLOSE(ctx, clipped.narrow0(lo, n),
                   clip_boxes_to_image(ctx, b.narrow0(lo, n), sizes[seg].first, sizes[seg].second),
                   0, 0, "segment " + std::to_string(seg));
  }
  // (R, C, 4) layout: every class box of a row is clipped to the row's image.
  Tensor b3 = b.reshape({101, 1, 4});
  DR_CHECK_CLOSE(ctx, clip_boxes_segments(ctx, b3, offsets, sizes), clipped.reshape({101, 1, 4}),
                 0, 0, "(R, C, 4) layout");
  for (bool strict : {false, true}) {
    SegmentedKeep k = filter_boxes_segments(ctx, clipped, s, offsets, 1.0, 0.5, strict);
    std::vector<int64_t> want;
    std::vector<int64_t> counts;
    Tensor small = remove_small_boxes(ctx, clipped, 1.0);
    for (int seg = 0; seg < 3; ++seg) {
      int64_t c = 0;
      for (int64_t i = 0; i < small.numel(); ++i) {
        const int64_t r = small.data<int64_t>()[i];
        const float sc = s.data<float>()[r];
        if (r >= offsets[seg] && r < offsets[seg + 1] && (strict ? sc > 0.5f : sc >= 0.5f)) {
          want.push_back(r);
          ++c;
        }
      }
      counts.push_back(c);
    }
    CHECK(k.counts == counts);
    DR_CHECK_CLOSE(ctx, k.indices, Tensor::host_from<int64_t>({int64_t(want.size())}, want), 0, 0,
                   strict ? "filter (score > thr)" : "filter (score >= thr)");
  }
  SegmentedKeep none = filter_boxes_segments(ctx, Tensor::host({0, 4}), Tensor(), {0, 0}, 1.0, 0, false);
  CHECK(none.counts == std::vector<int64_t>{0});
  CHECK_THROWS_AS(clip_boxes_segments(ctx, b, {0, 50}, {{10, 10}}), Error);
}

TEST_CASE("gpu: segmented clip and filter match the CPU") {
  Context cpu(Device::cpu(), 19), gpu(Device::cuda(0), 19);
  for (int64_t n : {0, 1, 300, 5003}) {
    std::vector<int64_t> offsets = {0, n / 3, n / 3, n};
    std::vector<std::pair<int64_t, int64_t>> sizes = {{50, 70}, {10, 10}, {90, 33}};
    Tensor b = spread_boxes(cpu, n), s = test::random_tensor(cpu, {n}, 0, 1);
    Tensor bg = gpu.to(b, gpu.device()), sg = gpu.to(s, gpu.device());
    const std::string tag = " n=" + std::to_string(n);
    Tensor cc = clip_boxes_segments(cpu, b, offsets, sizes);
    Tensor cg = clip_boxes_segments(gpu, bg, offsets, sizes);
    DR_CHECK_CLOSE(gpu, cg, cc, 0, 0, "clip_boxes_segments" + tag);
    for (bool with_scores : {false, true}) {
      SegmentedKeep kc = filter_boxes_segments(cpu, cc, with_scores ? s : Tensor(), offsets, 1.0, 0.3, true);
      SegmentedKeep kg = filter_boxes_segments(gpu, cg, with_scores ? sg : Tensor(), offsets, 1.0, 0.3, true);
      CHECK_MESSAGE(kg.counts == kc.counts, "filter counts" << tag);
      DR_CHECK_CLOSE(gpu, kg.indices, kc.indices, 0, 0, "filter_boxes_segments" + tag);
    }
  }
}
