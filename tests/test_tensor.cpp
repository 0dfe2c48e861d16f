// Tensor, Context, tape and flat tensor file basics.
#include <cstdio>
#include <fstream>

#include "nn/functional.h"
#include "tests/testing.h"

using namespace dr;

TEST_CASE("tensor: shapes, views and checked access") {
  Tensor t = Tensor::host({2, 3, 4});
  CHECK(t.numel() == 24);
  CHECK(t.size(-1) == 4);
  CHECK(t.str() == "f32(2,3,4)@cpu");
  Tensor v = t.reshape({6, -1});
  CHECK(v.shape() == Shape{6, 4});
  CHECK(v.same_storage(t));
  CHECK_THROWS_WITH_AS(t.reshape({5, -1}), doctest::Contains("sizes do not divide"), Error);
  CHECK_THROWS_WITH_AS(t.data<double>(), doctest::Contains("accessed as f64"), Error);
  Tensor s = t.narrow0(1, 1);
  CHECK(static_cast<float*>(s.raw()) == t.data<float>() + 12);
  CHECK_THROWS_AS(t.narrow0(1, 2), Error);
  Tensor e = Tensor::host({0, 5});
  CHECK(e.numel() == 0);
  CHECK(flatten(e).shape() == Shape{0, 5});
}

TEST_CASE("tensor: device parsing and CPU-only errors") {
  CHECK(Device::parse("cpu") == Device::cpu());
  CHECK(Device::parse("cuda:1") == Device::cuda(1));
  CHECK_THROWS_AS(Device::parse("tpu"), Error);
  if (!cuda_available()) CHECK_THROWS_AS(Context(Device::cuda(0)), Error);
}

TEST_CASE("host block cache: large host tensors reuse their blocks, small ones bypass it") {
  Context ctx;
  const int64_t big = int64_t(HostBlockCache::kMinBytes / 4) + 1000;  // floats, > 32 MiB
  void* first = nullptr;
  {
    Tensor a = ctx.empty({big});
    first = a.raw();
    CHECK(reinterpret_cast<uintptr_t>(first) % 64 == 0);
    CHECK(ctx.host_cache_stats().device_mallocs == 1);
    CHECK(ctx.host_cache_stats().bytes_in_use >= size_t(big) * 4);
  }
  CHECK(ctx.host_cache_stats().bytes_in_use == 0);
  CHECK(ctx.host_cache_stats().bytes_cached >= size_t(big) * 4);
  {
    Tensor b = ctx.zeros({big - 50});  // a slightly smaller shape takes the same block
    CHECK(b.raw() == first);
    CHECK(b.data<float>()[big - 51] == 0.0f);
    Tensor c = ctx.empty({big});       // the block is taken: a second system allocation
    CHECK(c.raw() != first);
    CHECK(ctx.host_cache_stats().device_mallocs == 2);
    Tensor small = ctx.empty({1000});  // below kMinBytes: glibc's heap, not the cache
    CHECK(ctx.host_cache_stats().device_mallocs == 2);
  }
  // A cached block more than twice the request is not handed out (it would pin memory a
  // big request needs next); up to twice is.
  HostBlockCache cache;
  const size_t MiB = size_t(1) << 20;
  void* seventy = cache.allocate(70 * MiB);
  cache.release(seventy, 70 * MiB);
  void* small_req = cache.allocate(33 * MiB);
  CHECK(small_req != seventy);
  CHECK(cache.stats().device_mallocs == 2);
  void* fitting = cache.allocate(40 * MiB);
  CHECK(fitting == seventy);
  CHECK(cache.stats().device_mallocs == 2);
  cache.release(small_req, 33 * MiB);
  cache.release(fitting, 40 * MiB);  // goes back as the 70 MiB block it is
  CHECK(cache.stats().bytes_in_use == 0);
  CHECK(cache.stats().bytes_cached == 70 * MiB + HostBlockCache::round_size(33 * MiB));
  HostBlockCache tiny(size_t(40) << 20);  // keeps at most 40 MiB
  void* p = tiny.allocate(size_t(33) << 20);
  void* q = tiny.allocate(size_t(33) << 20);
  tiny.release(p, size_t(33) << 20);
  tiny.release(q, size_t(33) << 20);  // over the cap: freed, not cached
  CHECK(tiny.stats().bytes_cached == HostBlockCache::round_size(size_t(33) << 20));
  CHECK(tiny.stats().bytes_in_use == 0);
}

TEST_CASE("tensor file: round trip keeps names, dtypes, shapes, bytes and meta") {
  std::string path = "build/test_tmp_roundtrip.bin";
  Tensor a = Tensor::host_from<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor b = Tensor::host_from<int64_t>({1}, {7});
  Tensor c = Tensor::host_from<uint8_t>({3}, {1, 0, 255});
  write_tensor_file(path, {{"arch", "test"}}, {{"a.weight", a}, {"n", b}, {"mask", c}});
  TensorFile f = read_tensor_file(path);
  REQUIRE(f.tensors.size() == 3);
  CHECK(f.meta["arch"] == "test");
  CHECK(f.tensors[0].first == "a.weight");
  CHECK(f.get("a.weight").data<float>()[5] == 6.0f);
  CHECK(f.get("n").item<int64_t>() == 7);
  CHECK(f.get("mask").data<uint8_t>()[2] == 255);
  CHECK_THROWS_WITH_AS(f.get("nope"), doctest::Contains("no tensor named 'nope'"), Error);
  std::remove(path.c_str());
}

TEST_CASE("tensor file: bad files are errors that name the file") {
  std::string path = "build/test_tmp_bad.bin";
  write_tensor_file(path, {}, {{"w", Tensor::host_zeros({100})}});
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  SUBCASE("truncated data") {
    std::ofstream(path, std::ios::binary).write(bytes.data(), bytes.size() - 100);  // past the 48 padding bytes, into the data
    CHECK_THROWS_WITH_AS(read_tensor_file(path), doctest::Contains("truncated"), Error);
  }
  SUBCASE("wrong magic") {
    std::string b2 = bytes;
    b2[0] = 'X';
    std::ofstream(path, std::ios::binary).write(b2.data(), b2.size());
    CHECK_THROWS_WITH_AS(read_tensor_file(path), doctest::Contains("bad magic"), Error);
  }
  SUBCASE("too short") {
    std::ofstream(path, std::ios::binary).write(bytes.data(), 5);
    CHECK_THROWS_WITH_AS(read_tensor_file(path), doctest::Contains(path.c_str()), Error);
  }
  SUBCASE("missing") {
    CHECK_THROWS_WITH_AS(read_tensor_file("build/does_not_exist.bin"),
                         doctest::Contains("does_not_exist.bin"), Error);
  }
  std::remove(path.c_str());
}

TEST_CASE("tape: records only when enabled and accumulates shared inputs") {
  Context ctx;
  Tensor x = Tensor::host_from<double>({3}, {-1.0, 2.0, 3.0});
  x.set_requires_grad(true);
  {
    Tensor y = relu(ctx, x);  // grad disabled: nothing recorded
    CHECK(ctx.tape().size() == 0);
    CHECK_FALSE(y.requires_grad());
  }
  GradModeGuard g(ctx, true);
  // y = relu(x) + x  -> dy/dx = [0+1, 1+1, 1+1]
  Tensor y = add(ctx, relu(ctx, x), x);
  CHECK(ctx.tape().size() == 2);
  ctx.backward(y, Tensor::host_from<double>({3}, {1, 1, 1}));
  CHECK(ctx.tape().size() == 0);
  auto gx = test::to_doubles(ctx, x.grad());
  CHECK(gx == std::vector<double>{1, 2, 2});
  CHECK_THROWS_WITH_AS(ctx.backward(y), doctest::Contains("not a scalar"), Error);
}

TEST_CASE("ops: add and relu shape errors name the op and shapes") {
  Context ctx;
  CHECK_THROWS_WITH_AS(add(ctx, Tensor::host({2, 3}), Tensor::host({3, 2})),
                       doctest::Contains("add: operands f32(2,3)@cpu and f32(3,2)@cpu"), Error);
  CHECK_THROWS_WITH_AS(relu(ctx, Tensor::host({2}, DType::I32)),
                       doctest::Contains("relu: x must be f32 or f64"), Error);
}
