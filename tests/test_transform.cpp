// GeneralizedRCNNTransform: the resize rule, normalize, padding into a batch, box
// rescaling (targets and postprocess), the whole forward on two images of different
// sizes; torchvision parity and CPU vs CUDA.
#include "detector/boxes.h"
#include "detector/transform.h"
#include "tests/testing.h"

using namespace dr;

TEST_CASE("transform: resize rule by hand and against torchvision's sizes") {
  GeneralizedRCNNTransform t;
  t.min_sizes = {64};
  t.max_size = 100;
  // min side 37 -> scale 64/37 = 1.7297 (the max rule 100/53 = 1.887 is larger).
  CHECK(t.resized_size(37, 53, 64) == ImageSize{64, 91});
  // min side 31 -> 2.0645; max rule 100/45 = 2.222 -> 45 * 2.0645 = 92.9. The f32 scale
  // is just below 64/31, so the short side becomes 63, not 64 (as in torch).
  CHECK(t.resized_size(45, 31, 64) == ImageSize{92, 63});
  // The max_size rule wins for elongated images: 20x200 -> scale 0.5.
  CHECK(t.resized_size(20, 200, 64) == ImageSize{10, 100});
  GeneralizedRCNNTransform d;  // torchvision defaults 800 / 1333
  CHECK(d.resized_size(480, 640, 800) == ImageSize{800, 1066});
  CHECK(d.resized_size(32, 77, 800) == ImageSize{553, 1332});  // torch's sizes, f32 scale
  const TensorFile& ref = test::reference("detops");
  const Tensor& sz = ref.get("transform.sizes");
  CHECK(t.resized_size(37, 53, 64) == ImageSize{sz.data<int64_t>()[0], sz.data<int64_t>()[1]});
  CHECK(t.resized_size(45, 31, 64) == ImageSize{sz.data<int64_t>()[2], sz.data<int64_t>()[3]});
}

TEST_CASE("transform: normalize, batch padding, box rescaling by hand") {
  Context ctx;
  GeneralizedRCNNTransform t;
  Tensor im = Tensor::host_from<float>({3, 1, 2}, {0.485f, 1.0f, 0.456f, 0.0f, 0.406f, 0.5f});
  Tensor n = t.normalize(ctx, im);
  CHECK(n.data<float>()[0] == 0.0f);
  CHECK(n.data<float>()[1] == doctest::Approx((1.0 - 0.485) / 0.229));
  CHECK(n.data<float>()[3] == doctest::Approx(-0.456 / 0.224));
  CHECK_THROWS_AS(t.normalize(ctx, Tensor::host({1, 2, 2})), Error);  // 1 channel, 3 means

  Tensor a = Tensor::host_from<float>({1, 2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor b = Tensor::host_from<float>({1, 33, 1}, std::vector<float>(33, 7.0f));
  Tensor batch = t.batch_images(ctx, {a, b});
  REQUIRE(batch.shape() == Shape{2, 1, 64, 32});  // max (33, 3) rounded up to 32s
  const float* p = batch.data<float>();
  CHECK(p[0] == 1.0f);
  CHECK(p[2] == 3.0f);
  CHECK(p[3] == 0.0f);  // padding
  CHECK(p[32 + 2] == 6.0f);
  CHECK(p[64 * 32 + 32 * 32] == 7.0f);  // image 1, row 32, col 0
  CHECK(p[64 * 32 + 32 * 32 + 1] == 0.0f);

  // resize_boxes: f32 ratios new/original per axis.
  Tensor boxes = Tensor::host_from<float>({1, 4}, {10, 20, 30, 40});
  Tensor r = resize_boxes(ctx, boxes, 100, 50, 50, 100);  // h halves, w doubles
  std::vector<float> want = {20, 10, 60, 20};
  for (int i = 0; i < 4; ++i) CHECK(r.data<float>()[i] == want[i]);
  std::vector<Tensor> post = t.postprocess(ctx, {boxes}, {{50, 100}}, {{100, 50}});
  for (int i = 0; i < 4; ++i) CHECK(post[0].data<float>()[i] == std::vector<float>{5, 40, 15, 80}[i]);
}

TEST_CASE("parity: transform postprocess matches torchvision") {
  Context ctx;
  const TensorFile& ref = test::reference("detops");
  GeneralizedRCNNTransform t;
  t.min_sizes = {64};
  t.max_size = 100;
  const Tensor& sz = ref.get("transform.sizes");
  std::vector<ImageSize> sizes = {{sz.data<int64_t>()[0], sz.data<int64_t>()[1]},
                                  {sz.data<int64_t>()[2], sz.data<int64_t>()[3]}};
  std::vector<Tensor> post = t.postprocess(ctx, {ref.get("transform.pred0"), ref.get("transform.pred1")},
                                           sizes, {{37, 53}, {45, 31}});
  DR_CHECK_CLOSE(ctx, post[0], ref.get("transform.post0"), 0, 0, "postprocess image 0");
  DR_CHECK_CLOSE(ctx, post[1], ref.get("transform.post1"), 0, 0, "postprocess image 1");
  // Training targets: the same rule from original to resized sizes.
  DR_CHECK_CLOSE(ctx, resize_boxes(ctx, ref.get("transform.boxes0"), 37, 53, sizes[0].first, sizes[0].second),
                 ref.get("transform.target_boxes0"), 0, 0, "target boxes image 0");
  DR_CHECK_CLOSE(ctx, resize_boxes(ctx, ref.get("transform.boxes1"), 45, 31, sizes[1].first, sizes[1].second),
                 ref.get("transform.target_boxes1"), 0, 0, "target boxes image 1");
}

TEST_CASE("parity: transform forward (normalize, resize, pad) and targets match torchvision") {
  Context ctx;
  const TensorFile& ref = test::reference("detops");
  GeneralizedRCNNTransform t;
  t.min_sizes = {64};
  t.max_size = 100;
  std::vector<Tensor> images = {ref.get("transform.image0"), ref.get("transform.image1")};
  ImageList il = t.forward(ctx, images);
  const Tensor& sz = ref.get("transform.sizes");
  REQUIRE(il.image_sizes.size() == 2);
  CHECK(il.image_sizes[0] == ImageSize{sz.data<int64_t>()[0], sz.data<int64_t>()[1]});
  CHECK(il.image_sizes[1] == ImageSize{sz.data<int64_t>()[2], sz.data<int64_t>()[3]});
  // Normalized values are O(2); resize_bilinear matches torch to f32 rounding.
  DR_CHECK_CLOSE(ctx, il.tensors, ref.get("transform.batch"), 1e-5, 1e-5, "transformed batch");
  t.training = true;  // one min_size: the random choice is deterministic, as in torch
  std::vector<Tensor> boxes = {ref.get("transform.boxes0"), ref.get("transform.boxes1")};
  ImageList il2 = t.forward(ctx, images, &boxes);
  DR_CHECK_CLOSE(ctx, il2.tensors, ref.get("transform.batch"), 1e-5, 1e-5, "training batch");
  DR_CHECK_CLOSE(ctx, boxes[0], ref.get("transform.target_boxes0"), 0, 0, "targets image 0");
  DR_CHECK_CLOSE(ctx, boxes[1], ref.get("transform.target_boxes1"), 0, 0, "targets image 1");
}

TEST_CASE("gpu: transform normalize, batch padding and forward match the CPU") {
  Context cpu(Device::cpu(), 4), gpu(Device::cuda(0), 4);
  GeneralizedRCNNTransform t;
  std::vector<Tensor> ic, ig;
  for (auto hw : std::vector<std::pair<int64_t, int64_t>>{{37, 53}, {45, 31}, {1, 1}}) {
    ic.push_back(test::random_tensor(cpu, {3, hw.first, hw.second}, 0, 1));
    ig.push_back(gpu.to(ic.back(), gpu.device()));
    DR_CHECK_CLOSE(gpu, t.normalize(gpu, ig.back()), t.normalize(cpu, ic.back()), 0, 0, "normalize");
  }
  DR_CHECK_CLOSE(gpu, t.batch_images(gpu, ig), t.batch_images(cpu, ic), 0, 0, "batch_images");
  t.min_sizes = {64};
  t.max_size = 100;
  ImageList lc = t.forward(cpu, ic), lg = t.forward(gpu, ig);
  CHECK(lc.image_sizes == lg.image_sizes);
  DR_CHECK_CLOSE(gpu, lg.tensors, lc.tensors, 1e-5, 1e-5, "transform forward");
}
