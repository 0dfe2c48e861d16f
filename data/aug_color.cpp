#include "data/aug_color.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace dr::data {

namespace {

inline uint8_t clamp_trunc(float v) {
  // torch: .clamp(0, 255).to(uint8) truncates toward zero.
  return static_cast<uint8_t>(v < 0.0f ? 0.0f : (v > 255.0f ? 255.0f : v));
}
inline uint8_t clamp_round(float v) {
  // torch.round: half to even (the default floating-point rounding mode).
  return static_cast<uint8_t>(std::nearbyint(v < 0.0f ? 0.0f : (v > 255.0f ? 255.0f : v)));
}

// _blend(img1, img2, ratio) with a per-pixel second image.
void blend_with(Image& img, const std::vector<uint8_t>& other, float ratio) {
  for (size_t i = 0; i < img.px.size(); ++i)
    img.px[i] = clamp_trunc(ratio * img.px[i] + (1.0f - ratio) * other[i]);
}

}  // namespace

uint8_t gray_u8(const uint8_t* p) {
  return static_cast<uint8_t>(0.2989f * p[0] + 0.587f * p[1] + 0.114f * p[2]);
}

void adjust_brightness(Image& img, float f) {
  for (auto& v : img.px) v = clamp_trunc(f * v);
}

void adjust_contrast(Image& img, float f) {
  const size_t n = static_cast<size_t>(img.h) * img.w;
  if (n == 0) return;
  double sum = 0;
  for (size_t i = 0; i < n; ++i) sum += gray_u8(&img.px[3 * i]);
  const float mean = static_cast<float>(sum / n);
  const float add = (1.0f - f) * mean;
  for (auto& v : img.px) v = clamp_trunc(f * v + add);
}

void adjust_saturation(Image& img, float f) {
  const size_t n = static_cast<size_t>(img.h) * img.w;
  for (size_t i = 0; i < n; ++i) {
    uint8_t* p = &img.px[3 * i];
    const float g = gray_u8(p);
    for (int k = 0; k < 3; ++k) p[k] = clamp_trunc(f * p[k] + (1.0f - f) * g);
  }
}

void adjust_hue(Image& img, float hue_factor) {
  DR_CHECK(hue_factor >= -0.5f && hue_factor <= 0.5f, "adjust_hue: factor " << hue_factor
                                                                            << " not in [-0.5, 0.5]");
  const size_t n = static_cast<size_t>(img.h) * img.w;
  for (size_t i = 0; i < n; ++i) {
    uint8_t* px = &img.px[3 * i];
    const float r = px[0] / 255.0f, g = px[1] / 255.0f, b = px[2] / 255.0f;
    // _rgb2hsv
    const float maxc = std::max(r, std::max(g, b)), minc = std::min(r, std::min(g, b));
    const bool eqc = maxc == minc;
    const float cr = maxc - minc;
    const float s = cr / (eqc ? 1.0f : maxc);
    // One reciprocal instead of three divisions: within 1 ulp of torch's quotients, which
    // the parity test bounds at one grey level after truncation.
    const float icr = 1.0f / (eqc ? 1.0f : cr);
    const float rc = (maxc - r) * icr, gc = (maxc - g) * icr, bc = (maxc - b) * icr;
    float h;
    if (maxc == r) h = bc - gc;
    else if (maxc == g) h = 2.0f + rc - bc;
    else h = 4.0f + gc - rc;
    // fmod(h / 6 + 1, 1): the argument is in [0, 2), where subtracting floor is exact.
    h = h / 6.0f + 1.0f;
    h -= std::floor(h);
    // (h + hue_factor) % 1.0 with Python's sign convention.
    h = h + hue_factor;
    h = h - std::floor(h);
    const float v = maxc;
    // _hsv2rgb
    const float fi = std::floor(h * 6.0f);
    const float fr = h * 6.0f - fi;
    int sector = static_cast<int>(fi) % 6;
    if (sector < 0) sector += 6;
    const float p = std::clamp(v * (1.0f - s), 0.0f, 1.0f);
    const float q = std::clamp(v * (1.0f - s * fr), 0.0f, 1.0f);
    const float t = std::clamp(v * (1.0f - s * (1.0f - fr)), 0.0f, 1.0f);
    float o[3];
    switch (sector) {
      case 0: o[0] = v; o[1] = t; o[2] = p; break;
      case 1: o[0] = q; o[1] = v; o[2] = p; break;
      case 2: o[0] = p; o[1] = v; o[2] = t; break;
      case 3: o[0] = p; o[1] = q; o[2] = v; break;
      case 4: o[0] = t; o[1] = p; o[2] = v; break;
      default: o[0] = v; o[1] = p; o[2] = q; break;
    }
    for (int k = 0; k < 3; ++k) px[k] = static_cast<uint8_t>(o[k] * 255.0f);
  }
}

void adjust_sharpness(Image& img, float f) {
  if (img.w <= 2 || img.h <= 2) return;  // torchvision returns such images unchanged
  std::vector<uint8_t> deg = img.px;
  for (int y = 1; y < img.h - 1; ++y)
    for (int x = 1; x < img.w - 1; ++x)
      for (int k = 0; k < 3; ++k) {
        float s = 0;
        for (int dy = -1; dy <= 1; ++dy)
          for (int dx = -1; dx <= 1; ++dx) s += img.at(y + dy, x + dx)[k];
        s += 4.0f * img.at(y, x)[k];  // centre weight 5
        deg[(static_cast<size_t>(y) * img.w + x) * 3 + k] = clamp_round(s / 13.0f);
      }
  blend_with(img, deg, f);
}

void to_grayscale(Image& img) {
  const size_t n = static_cast<size_t>(img.h) * img.w;
  for (size_t i = 0; i < n; ++i) {
    uint8_t* p = &img.px[3 * i];
    p[0] = p[1] = p[2] = gray_u8(p);
  }
}

void autocontrast(Image& img) {
  const size_t n = static_cast<size_t>(img.h) * img.w;
  for (int k = 0; k < 3; ++k) {
    uint8_t lo = 255, hi = 0;
    for (size_t i = 0; i < n; ++i) {
      lo = std::min(lo, img.px[3 * i + k]);
      hi = std::max(hi, img.px[3 * i + k]);
    }
    if (hi == lo) continue;  // torchvision: min 0, scale 1 -> unchanged
    const float scale = 255.0f / static_cast<float>(hi - lo);
    for (size_t i = 0; i < n; ++i) {
      uint8_t& v = img.px[3 * i + k];
      v = clamp_trunc((static_cast<float>(v) - lo) * scale);
    }
  }
}

void equalize(Image& img) {
  const size_t n = static_cast<size_t>(img.h) * img.w;
  for (int k = 0; k < 3; ++k) {
    int64_t hist[256] = {0};
    for (size_t i = 0; i < n; ++i) hist[img.px[3 * i + k]]++;
    // step = (sum of non-zero bins except the last non-zero one) // 255
    int last = 255;
    while (last > 0 && hist[last] == 0) --last;
    int64_t total = 0;
    for (int b = 0; b < last; ++b) total += hist[b];
    const int64_t step = total / 255;
    if (step == 0) continue;
    uint8_t lut[256];
    int64_t cum = 0;
    for (int b = 0; b < 256; ++b) {
      // lut = pad((cumsum + step // 2) // step, [1, 0])[:-1]: entry b uses cumsum up to b-1.
      const int64_t v = (cum + step / 2) / step;
      lut[b] = static_cast<uint8_t>(std::min<int64_t>(std::max<int64_t>(v, 0), 255));
      cum += hist[b];
    }
    for (size_t i = 0; i < n; ++i) img.px[3 * i + k] = lut[img.px[3 * i + k]];
  }
}

void solarize(Image& img, float threshold) {
  for (auto& v : img.px)
    if (static_cast<float>(v) >= threshold) v = static_cast<uint8_t>(255 - v);
}

void invert(Image& img) {
  for (auto& v : img.px) v = static_cast<uint8_t>(255 - v);
}

void gaussian_blur(Image& img, int ks, float sigma) {
  DR_CHECK(ks > 0 && ks % 2 == 1 && sigma > 0, "gaussian_blur: kernel " << ks << " sigma " << sigma);
  const int half = ks / 2;
  // torch reflect padding needs the pad smaller than the size; skip tiny images.
  if (img.w <= half || img.h <= half) return;
  std::vector<float> k(ks);
  float sum = 0;
  for (int i = 0; i < ks; ++i) {
    const float x = (i - half) / sigma;
    k[i] = std::exp(-0.5f * x * x);
    sum += k[i];
  }
  for (auto& v : k) v /= sum;
  auto reflect = [](int i, int n) { return i < 0 ? -i : (i >= n ? 2 * n - 2 - i : i); };
  std::vector<float> tmp(img.px.size());
  for (int y = 0; y < img.h; ++y)
    for (int x = 0; x < img.w; ++x)
      for (int c = 0; c < 3; ++c) {
        float s = 0;
        for (int i = 0; i < ks; ++i) s += k[i] * img.at(y, reflect(x + i - half, img.w))[c];
        tmp[(static_cast<size_t>(y) * img.w + x) * 3 + c] = s;
      }
  for (int y = 0; y < img.h; ++y)
    for (int x = 0; x < img.w; ++x)
      for (int c = 0; c < 3; ++c) {
        float s = 0;
        for (int i = 0; i < ks; ++i)
          s += k[i] * tmp[(static_cast<size_t>(reflect(y + i - half, img.h)) * img.w + x) * 3 + c];
        img.at(y, x)[c] = clamp_round(s);
      }
}

// ---- random ops ----

std::string ColorJitter::name() const {
  std::ostringstream os;
  os << "ColorJitter(b=" << brightness << ", c=" << contrast << ", s=" << saturation
     << ", h=" << hue << ", p=" << p << ")";
  return os.str();
}

void ColorJitter::apply(Image& img, std::vector<Box>&, Rng& rng) const {
  if (rng.uniform() >= p) return;
  int order[4] = {0, 1, 2, 3};
  for (int i = 3; i > 0; --i) std::swap(order[i], order[rng.randint(i + 1)]);
  auto factor = [&](float m) {
    return static_cast<float>(rng.uniform(std::max(0.0f, 1.0f - m), 1.0f + m));
  };
  const float fb = factor(brightness), fc = factor(contrast), fs = factor(saturation);
  const float fh = static_cast<float>(rng.uniform(-hue, hue));
  for (int op : order) {
    if (op == 0 && brightness > 0) adjust_brightness(img, fb);
    if (op == 1 && contrast > 0) adjust_contrast(img, fc);
    if (op == 2 && saturation > 0) adjust_saturation(img, fs);
    if (op == 3 && hue > 0) adjust_hue(img, fh);
  }
}

std::string RandomGrayscale::name() const { return "RandomGrayscale(p=" + std::to_string(p) + ")"; }
void RandomGrayscale::apply(Image& img, std::vector<Box>&, Rng& rng) const {
  if (rng.uniform() < p) to_grayscale(img);
}

std::string RandomSharpness::name() const {
  std::ostringstream os;
  os << "RandomSharpness(" << lo << ".." << hi << ", p=" << p << ")";
  return os.str();
}
void RandomSharpness::apply(Image& img, std::vector<Box>&, Rng& rng) const {
  if (rng.uniform() >= p) return;
  adjust_sharpness(img, static_cast<float>(rng.uniform(lo, hi)));
}

std::string RandomAutocontrast::name() const {
  return "RandomAutocontrast(p=" + std::to_string(p) + ")";
}
void RandomAutocontrast::apply(Image& img, std::vector<Box>&, Rng& rng) const {
  if (rng.uniform() < p) autocontrast(img);
}

std::string RandomEqualize::name() const { return "RandomEqualize(p=" + std::to_string(p) + ")"; }
void RandomEqualize::apply(Image& img, std::vector<Box>&, Rng& rng) const {
  if (rng.uniform() < p) equalize(img);
}

std::string RandomGaussianBlur::name() const {
  std::ostringstream os;
  os << "RandomGaussianBlur(k<=" << max_kernel << ", sigma " << sigma_lo << ".." << sigma_hi
     << ", p=" << p << ")";
  return os.str();
}
void RandomGaussianBlur::apply(Image& img, std::vector<Box>&, Rng& rng) const {
  if (rng.uniform() >= p) return;
  const float sigma = static_cast<float>(rng.uniform(sigma_lo, sigma_hi));
  int ks = std::min(max_kernel, 2 * static_cast<int>(std::ceil(3.0f * sigma)) + 1);
  if (ks % 2 == 0) --ks;
  if (ks >= 3) gaussian_blur(img, ks, sigma);
}

}  // namespace dr::data
