#include "data/image.h"

#include <stb_image.h>
#include <stb_image_write.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>

namespace dr::data {

std::vector<uint8_t> read_file_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  DR_CHECK(f.good(), "read: cannot open file " << path);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  DR_CHECK(!f.bad(), "read: error while reading " << path);
  return bytes;
}

Image decode_image(const uint8_t* bytes, size_t size, const std::string& name) {
  DR_CHECK(size > 0, "image: " << name << " is empty (0 bytes)");
  DR_CHECK(size < (size_t(1) << 31), "image: " << name << " is too large (" << size << " bytes)");
  int w = 0, h = 0, comp = 0;
  // req_comp = 3: stb converts grey, grey+alpha and RGBA to RGB (alpha dropped).
  uint8_t* p = stbi_load_from_memory(bytes, static_cast<int>(size), &w, &h, &comp, 3);
  DR_CHECK(p != nullptr, "image: cannot decode " << name << " (" << stbi_failure_reason()
                                                 << "); expected PNG, JPEG or BMP");
  Image img;
  img.h = h;
  img.w = w;
  img.px.assign(p, p + static_cast<size_t>(w) * h * 3);
  stbi_image_free(p);
  return img;
}

Image read_image(const std::string& path) {
  std::vector<uint8_t> bytes = read_file_bytes(path);
  return decode_image(bytes.data(), bytes.size(), path);
}

void write_png(const std::string& path, const Image& img) {
  DR_CHECK(!img.empty(), "write_png: empty image for " << path);
  int ok = stbi_write_png(path.c_str(), img.w, img.h, 3, img.px.data(), img.w * 3);
  DR_CHECK(ok != 0, "write_png: cannot write " << path);
}

namespace {
void append_bytes(void* ctx, void* data, int size) {
  auto* v = static_cast<std::vector<uint8_t>*>(ctx);
  const uint8_t* d = static_cast<const uint8_t*>(data);
  v->insert(v->end(), d, d + size);
}
}  // namespace

std::vector<uint8_t> encode_png(const Image& img) {
  std::vector<uint8_t> out;
  DR_CHECK(!img.empty(), "encode_png: empty image");
  int ok = stbi_write_png_to_func(append_bytes, &out, img.w, img.h, 3, img.px.data(), img.w * 3);
  DR_CHECK(ok != 0, "encode_png: stb failed for a " << img.w << "x" << img.h << " image");
  return out;
}

void to_chw_float(const Image& img, float* dst) {
  const size_t plane = static_cast<size_t>(img.h) * img.w;
  const uint8_t* s = img.px.data();
  for (size_t i = 0; i < plane; ++i) {
    dst[i] = s[3 * i] * (1.0f / 255.0f);
    dst[plane + i] = s[3 * i + 1] * (1.0f / 255.0f);
    dst[2 * plane + i] = s[3 * i + 2] * (1.0f / 255.0f);
  }
}

Tensor to_tensor(const Image& img) {
  Tensor t = Tensor::host({3, img.h, img.w}, DType::F32);
  to_chw_float(img, t.data<float>());
  return t;
}

Image resize_bilinear(const Image& src, int out_h, int out_w) {
  DR_CHECK(out_h > 0 && out_w > 0 && !src.empty(),
           "resize: " << src.w << "x" << src.h << " -> " << out_w << "x" << out_h);
  Image dst(out_h, out_w);
  const float sy = static_cast<float>(src.h) / out_h, sx = static_cast<float>(src.w) / out_w;
  for (int y = 0; y < out_h; ++y) {
    float fy = std::max((y + 0.5f) * sy - 0.5f, 0.0f);
    int y0 = std::min(static_cast<int>(fy), src.h - 1), y1 = std::min(y0 + 1, src.h - 1);
    float wy = fy - y0;
    for (int x = 0; x < out_w; ++x) {
      float fx = std::max((x + 0.5f) * sx - 0.5f, 0.0f);
      int x0 = std::min(static_cast<int>(fx), src.w - 1), x1 = std::min(x0 + 1, src.w - 1);
      float wx = fx - x0;
      const uint8_t *a = src.at(y0, x0), *b = src.at(y0, x1), *c = src.at(y1, x0), *d = src.at(y1, x1);
      uint8_t* o = dst.at(y, x);
      for (int k = 0; k < 3; ++k) {
        float v = (a[k] * (1 - wx) + b[k] * wx) * (1 - wy) + (c[k] * (1 - wx) + d[k] * wx) * wy;
        o[k] = static_cast<uint8_t>(std::lround(std::min(std::max(v, 0.0f), 255.0f)));
      }
    }
  }
  return dst;
}

}  // namespace dr::data
