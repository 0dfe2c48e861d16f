// AnchorGenerator: hand-computed cell anchors, torchvision parity, CPU vs CUDA.
#include "detector/anchors.h"
#include "tests/testing.h"

using namespace dr;

TEST_CASE("anchors: cell anchors and shifts by hand") {
  Context ctx;
  AnchorGenerator gen;
  CHECK(gen.num_anchors_per_location() == std::vector<int64_t>{3, 3, 3, 3, 3});
  Tensor c = gen.cell_anchors(0);  // size 32, ratios (0.5, 1, 2) = height / width
  REQUIRE(c.shape() == Shape{3, 4});
  // ratio 0.5: w = 32 * sqrt(2) = 45.25, h = 22.63 -> round(+-22.63) = 23, round(+-11.31) = 11.
  std::vector<float> want = {-23, -11, 23, 11, -16, -16, 16, 16, -11, -23, 11, 23};
  for (int i = 0; i < 12; ++i) CHECK(c.data<float>()[i] == want[i]);
  // Round half to even: size 3, ratio 1 -> +-1.5 rounds to +-2.
  AnchorGenerator odd;
  odd.sizes = {{3}};
  odd.aspect_ratios = {{1.0}};
  Tensor o = odd.cell_anchors(0);
  CHECK(o.data<float>()[0] == -2.0f);
  CHECK(o.data<float>()[2] == 2.0f);
  // Grid of 2x3 cells on a 20x30 image: stride 10; rows (y, x, anchor).
  Tensor g = odd.forward(ctx, 20, 30, {{2, 3}});
  REQUIRE(g.shape() == Shape{6, 4});
  CHECK(g.data<float>()[4 * 4 + 0] == 10.0f - 2.0f);  // y=1, x=1
  CHECK(g.data<float>()[4 * 4 + 1] == 10.0f - 2.0f);
  CHECK(g.data<float>()[5 * 4 + 2] == 20.0f + 2.0f);  // y=1, x=2
  CHECK_THROWS_AS(gen.forward(ctx, 64, 64, {{16, 16}}), Error);  // 1 feature map for 5 levels
}

TEST_CASE("parity: anchors match torchvision's AnchorGenerator") {
  Context ctx;
  const TensorFile& ref = test::reference("detops");
  AnchorGenerator gen;
  Tensor a = gen.forward(ctx, 96, 128, {{24, 32}, {12, 16}, {6, 8}, {3, 4}, {2, 2}});
  DR_CHECK_CLOSE(ctx, a, ref.get("anchors.default"), 0, 0, "default anchors (image 0)");
  DR_CHECK_CLOSE(ctx, a, ref.get("anchors.default_img1"), 0, 0, "default anchors (image 1)");
  AnchorGenerator custom;
  custom.sizes = {{16, 24}, {48}};
  custom.aspect_ratios = {{0.5, 1.0}, {1.0, 2.0, 3.0}};
  CHECK(custom.num_anchors_per_location() == std::vector<int64_t>{4, 3});
  DR_CHECK_CLOSE(ctx, custom.forward(ctx, 100, 75, {{25, 19}, {13, 10}}), ref.get("anchors.custom"),
                 0, 0, "custom anchors, odd sizes and strides");
  Context c64;
  DR_CHECK_CLOSE(c64, custom.forward(c64, 100, 75, {{25, 19}, {13, 10}}, DType::F64),
                 ref.get("anchors.custom"), 0, 0, "custom anchors in f64");
}

TEST_CASE("gpu: anchors match the CPU") {
  Context cpu, gpu(Device::cuda(0));
  AnchorGenerator gen;
  for (auto img : std::vector<std::pair<int64_t, int64_t>>{{96, 128}, {801, 1217}, {32, 32}}) {
    std::vector<std::pair<int64_t, int64_t>> fs;
    for (int64_t s : {4, 8, 16, 32, 64})
      fs.push_back({std::max<int64_t>(1, img.first / s), std::max<int64_t>(1, img.second / s)});
    DR_CHECK_CLOSE(gpu, gen.forward(gpu, img.first, img.second, fs),
                   gen.forward(cpu, img.first, img.second, fs), 0, 0,
                   "anchors " + std::to_string(img.first) + "x" + std::to_string(img.second));
  }
}
