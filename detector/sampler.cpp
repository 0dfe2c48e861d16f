// See detector/sampler.h. Host-side: the draw is a few hundred indices per image, and
// the candidates' positions are needed on the host anyway to draw among them.
#include "detector/sampler.h"

#include <algorithm>

#include "detector/select_ops.h"

namespace dr {

namespace {

// Positions of positives (label >= 1) and negatives (label == 0) in one image's labels.
struct Candidates {
  std::vector<int64_t> pos, neg;
};

template <class T> Candidates candidates_of(const T* labels, int64_t n) {
  Candidates c;
  for (int64_t i = 0; i < n; ++i) {
    if (labels[i] >= T(1)) c.pos.push_back(i);
    else if (labels[i] == T(0)) c.neg.push_back(i);
  }
  return c;
}

Candidates candidates_of(const Tensor& labels) {
  const int64_t n = labels.numel();
  switch (labels.dtype()) {
    case DType::F32: return candidates_of(labels.data<float>(), n);
    case DType::F64: return candidates_of(labels.data<double>(), n);
    case DType::I64: return candidates_of(labels.data<int64_t>(), n);
    default: DR_FAIL("BalancedPositiveNegativeSampler: labels must be f32, f64 or int64, got "
                     << labels.str());
  }
}

// torch.randperm(n)[:k] of the candidates: a partial Fisher-Yates shuffle, so every
// k-subset is equally likely; returned ascending (the order torch.where gives callers).
std::vector<int64_t> draw_prefix(Rng& rng, std::vector<int64_t> cand, int64_t k) {
  const int64_t n = static_cast<int64_t>(cand.size());
  for (int64_t i = 0; i < k; ++i) std::swap(cand[i], cand[i + rng.randint(n - i)]);
  cand.resize(static_cast<size_t>(k));
  std::sort(cand.begin(), cand.end());
  return cand;
}

// An injected draw must be one the sampler could have made: k distinct members of cand.
std::vector<int64_t> checked_injection(std::vector<int64_t> got, const std::vector<int64_t>& cand,
                                       int64_t k, int64_t image, const char* kind) {
  std::sort(got.begin(), got.end());
  DR_CHECK(static_cast<int64_t>(got.size()) == k,
           "BalancedPositiveNegativeSampler: draw_hook gave " << got.size() << " " << kind
               << " indices for image " << image << ", the sampler takes " << k);
  for (size_t i = 0; i < got.size(); ++i) {
    DR_CHECK(i == 0 || got[i] != got[i - 1], "BalancedPositiveNegativeSampler: draw_hook gave "
                                                 << kind << " index " << got[i] << " twice for image "
                                                 << image);
    DR_CHECK(std::binary_search(cand.begin(), cand.end(), got[i]),
             "BalancedPositiveNegativeSampler: draw_hook's " << kind << " index " << got[i]
                 << " for image " << image << " is not a " << kind << " label");
  }
  return got;
}

}  // namespace

BalancedPositiveNegativeSampler::BalancedPositiveNegativeSampler(int64_t batch_size,
                                                                 double fraction)
    : batch_size_per_image(batch_size), positive_fraction(fraction) {
  DR_CHECK(batch_size >= 0 && fraction >= 0 && fraction <= 1,
           "BalancedPositiveNegativeSampler: batch_size_per_image " << batch_size
               << " and positive_fraction " << fraction << " out of range");
}

std::vector<SampledIndices> BalancedPositiveNegativeSampler::operator()(
    Context& ctx, const std::vector<Tensor>& labels) const {
  if (labels.empty()) return {};
  for (const Tensor& l : labels) {
    check_dim("BalancedPositiveNegativeSampler", "labels", l, 1);
    DR_CHECK(l.dtype() == labels[0].dtype() && l.device() == labels[0].device(),
             "BalancedPositiveNegativeSampler: labels of all images must share dtype and device: "
                 << l.str() << " vs " << labels[0].str());
  }
  const Device dev = labels[0].device();
  // Host copies: on CUDA, one read-back of every image's labels.
  std::vector<Tensor> host(labels.size());
  if (dev.is_cuda()) {
    const Tensor all = ctx.to_host(cat0(ctx, labels));
    int64_t at = 0;
    for (size_t i = 0; i < labels.size(); ++i) {
      host[i] = all.narrow0(at, labels[i].numel());
      at += labels[i].numel();
    }
  } else {
    host = labels;
  }

  // int(batch_size_per_image * positive_fraction): the product in double, truncated.
  const int64_t max_pos = static_cast<int64_t>(double(batch_size_per_image) * positive_fraction);
  std::vector<std::vector<int64_t>> pos(labels.size()), neg(labels.size());
  int64_t total = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    const Candidates c = candidates_of(host[i]);
    const int64_t num_pos = std::min<int64_t>(max_pos, c.pos.size());
    const int64_t num_neg = std::min<int64_t>(batch_size_per_image - num_pos, c.neg.size());
    if (draw_hook) {
      const Draw d = draw_hook(static_cast<int64_t>(i), host[i]);
      pos[i] = checked_injection(d.pos, c.pos, num_pos, i, "positive");
      neg[i] = checked_injection(d.neg, c.neg, num_neg, i, "negative");
    } else {
      pos[i] = draw_prefix(ctx.rng(), c.pos, num_pos);
      neg[i] = draw_prefix(ctx.rng(), c.neg, num_neg);
    }
    total += 2 * (num_pos + num_neg);
  }

  // One buffer [pos_0, neg_0, both_0, pos_1, ...], moved to the device in one copy.
  std::vector<int64_t> flat;
  flat.reserve(static_cast<size_t>(total));
  for (size_t i = 0; i < labels.size(); ++i) {
    flat.insert(flat.end(), pos[i].begin(), pos[i].end());
    flat.insert(flat.end(), neg[i].begin(), neg[i].end());
    const size_t start = flat.size();
    flat.resize(start + pos[i].size() + neg[i].size());
    std::merge(pos[i].begin(), pos[i].end(), neg[i].begin(), neg[i].end(), flat.begin() + start);
  }
  const Tensor buf = ctx.to(Tensor::host_from<int64_t>({total}, flat), dev);
  std::vector<SampledIndices> out(labels.size());
  int64_t at = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    const int64_t np = pos[i].size(), nn = neg[i].size();
    out[i].pos = buf.narrow0(at, np);
    out[i].neg = buf.narrow0(at + np, nn);
    out[i].both = buf.narrow0(at + np + nn, np + nn);
    at += 2 * (np + nn);
  }
  return out;
}

}  // namespace dr
