// Image: the data pipeline's picture, 8-bit RGB, (H, W, 3) interleaved, row-major.
// Decoding (PNG/JPEG/BMP via stb_image) always yields RGB: grayscale is replicated and
// an alpha channel is dropped (as torchvision's read_image(..., ImageReadMode.RGB) does).
// to_tensor() gives the model's (3, H, W) float32 in [0, 1] (torchvision's ToTensor).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "nn/tensor.h"

namespace dr::data {

struct Image {
  int h = 0, w = 0;
  std::vector<uint8_t> px;  // (H, W, 3)

  Image() = default;
  Image(int height, int width, uint8_t fill = 0)
      : h(height), w(width), px(static_cast<size_t>(height) * width * 3, fill) {}
  bool empty() const { return h <= 0 || w <= 0; }
  uint8_t* at(int y, int x) { return &px[(static_cast<size_t>(y) * w + x) * 3]; }
  const uint8_t* at(int y, int x) const { return &px[(static_cast<size_t>(y) * w + x) * 3]; }
};

// Decoders throw dr::Error naming `name` (the file) when the bytes are not an image.
Image decode_image(const uint8_t* bytes, size_t size, const std::string& name);
Image read_image(const std::string& path);
std::vector<uint8_t> read_file_bytes(const std::string& path);  // error names the path

void write_png(const std::string& path, const Image& img);
std::vector<uint8_t> encode_png(const Image& img);

// (3, H, W) f32 in [0, 1] written into dst (numel 3*H*W), or a fresh host tensor.
void to_chw_float(const Image& img, float* dst);
Tensor to_tensor(const Image& img);

// Bilinear resize with align_corners=False pixel centres (torch's interpolate).
Image resize_bilinear(const Image& src, int out_h, int out_w);

}  // namespace dr::data
