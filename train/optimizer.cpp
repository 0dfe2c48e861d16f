// Optimizer construction, the step loop over groups, and the state (torch's
// optimizer.state) as named tensors. The per-parameter updates are in train/sgd.cpp and
// train/adam.cpp.
#include "train/optimizer.h"

#include <cmath>
#include <set>

namespace dr::train {

namespace {

constexpr const char* kPrefix = "optimizer.";

bool is_nonneg(double x) { return x >= 0 && std::isfinite(x); }

}  // namespace

OptimizerKind optimizer_kind_from_name(const std::string& name) {
  if (name == "sgd") return OptimizerKind::SGD;
  if (name == "adam") return OptimizerKind::Adam;
  if (name == "adamw") return OptimizerKind::AdamW;
  DR_FAIL("optimizer: unknown kind '" << name << "' (expected sgd, adam or adamw)");
}

const char* optimizer_kind_name(OptimizerKind kind) {
  switch (kind) {
    case OptimizerKind::SGD: return "sgd";
    case OptimizerKind::Adam: return "adam";
    case OptimizerKind::AdamW: return "adamw";
  }
  return "?";
}

Optimizer::Optimizer(Context& ctx, OptimizerKind kind, std::vector<ParamGroup> groups)
    : ctx_(ctx), kind_(kind), groups_(std::move(groups)) {
  std::set<std::string> names;
  std::map<std::pair<const void*, size_t>, std::string> memory;  // (storage, offset) -> name
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    ParamGroup& g = groups_[gi];
    g.lr = g.base_lr;
    validate_group(g, gi);
    for (const auto& [name, t] : g.params) {
      DR_CHECK(names.insert(name).second,
               "optimizer: parameter '" << name << "' appears more than once");
      DR_CHECK(t && t->defined(), "optimizer: parameter '" << name << "' is undefined");
      DR_CHECK(t->dtype() == DType::F32 || t->dtype() == DType::F64,
               "optimizer: parameter '" << name << "' is " << t->str() << ", not floating");
      DR_CHECK(t->device() == ctx.device(), "optimizer: parameter '"
                                                << name << "' " << t->str()
                                                << " is not on the context's device "
                                                << ctx.device().str());
      DR_CHECK(!t->is_cuda() || t->dtype() == DType::F32,
               "optimizer: CUDA parameter '" << name << "' must be f32, is " << t->str());
      // torch: "some parameters appear in more than one parameter group"
      auto [it, fresh] = memory.emplace(std::make_pair(t->storage().get(), t->byte_offset()), name);
      DR_CHECK(fresh, "optimizer: parameters '" << it->second << "' and '" << name
                                                << "' are the same tensor");
    }
  }
}

// torch.optim's constructor checks, per group (they run again at each step, since the
// caller may edit groups() between steps).
void Optimizer::validate_group(const ParamGroup& g, size_t index) const {
  const char* k = optimizer_kind_name(kind_);
  DR_CHECK(is_nonneg(g.base_lr) && is_nonneg(g.lr),
           k << ": group " << index << ": invalid learning rate " << g.lr << " (base "
             << g.base_lr << ")");
  DR_CHECK(is_nonneg(g.weight_decay),
           k << ": group " << index << ": invalid weight_decay " << g.weight_decay);
  if (kind_ == OptimizerKind::SGD) {
    DR_CHECK(is_nonneg(g.momentum), k << ": group " << index << ": invalid momentum "
                                      << g.momentum);
    DR_CHECK(std::isfinite(g.dampening),
             k << ": group " << index << ": invalid dampening " << g.dampening);
    DR_CHECK(!g.nesterov || (g.momentum > 0 && g.dampening == 0),
             k << ": group " << index
               << ": nesterov momentum requires a momentum and zero dampening (momentum "
               << g.momentum << ", dampening " << g.dampening << ")");
  } else {
    DR_CHECK(is_nonneg(g.eps), k << ": group " << index << ": invalid epsilon " << g.eps);
    DR_CHECK(g.beta1 >= 0 && g.beta1 < 1 && g.beta2 >= 0 && g.beta2 < 1,
             k << ": group " << index << ": invalid betas (" << g.beta1 << ", " << g.beta2
               << "), each must be in [0, 1)");
  }
}

std::vector<Tensor*> Optimizer::params() const {
  std::vector<Tensor*> out;
  for (const ParamGroup& g : groups_)
    for (const auto& np : g.params) out.push_back(np.second);
  return out;
}

void Optimizer::step() {
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    const ParamGroup& g = groups_[gi];
    validate_group(g, gi);
    for (const auto& [name, t] : g.params) {
      Tensor grad = t->grad();
      if (!grad.defined()) continue;  // torch: p.grad is None
      if (kind_ == OptimizerKind::SGD)
        sgd_update(g, name, *t, grad);
      else
        adam_update(g, name, *t, grad);
    }
  }
}

void Optimizer::zero_grad() {
  for (Tensor* t : params()) t->zero_grad();
}

std::vector<std::string> Optimizer::slot_names() const {
  if (kind_ == OptimizerKind::SGD) return {"momentum_buffer"};
  return {"step", "exp_avg", "exp_avg_sq"};
}

std::vector<std::string> Optimizer::required_slots(const ParamGroup& g) const {
  if (kind_ == OptimizerKind::SGD && g.momentum == 0) return {};
  return slot_names();
}

int64_t Optimizer::step_count(const std::string& param) const {
  auto it = state_.find(param);
  return it == state_.end() ? 0 : it->second.step;
}

std::vector<std::pair<std::string, Tensor>> Optimizer::state_tensors() const {
  std::vector<std::pair<std::string, Tensor>> out;
  auto snapshot = [&](const Tensor& t) {
    Tensor h = Tensor::host(t.shape(), t.dtype());
    ctx_.copy(h, t);
    return h;
  };
  for (const ParamGroup& g : groups_)
    for (const auto& np : g.params) {
      auto it = state_.find(np.first);
      if (it == state_.end()) continue;
      const ParamState& st = it->second;
      const std::string base = kPrefix + np.first + ".";
      if (kind_ == OptimizerKind::SGD) {
        if (st.momentum_buffer.defined())
          out.emplace_back(base + "momentum_buffer", snapshot(st.momentum_buffer));
      } else {
        out.emplace_back(base + "step", Tensor::host_from<int64_t>({1}, {st.step}));
        out.emplace_back(base + "exp_avg", snapshot(st.exp_avg));
        out.emplace_back(base + "exp_avg_sq", snapshot(st.exp_avg_sq));
      }
    }
  return out;
}

void Optimizer::load_state(const std::vector<std::pair<std::string, Tensor>>& tensors,
                           bool allow_missing) {
  // parameter name -> (group, tensor)
  std::map<std::string, std::pair<const ParamGroup*, Tensor*>> index;
  for (const ParamGroup& g : groups_)
    for (const auto& np : g.params) index[np.first] = {&g, np.second};
  const std::vector<std::string> known = slot_names();
  const char* k = optimizer_kind_name(kind_);

  // Parse and check every entry; nothing changes until all of them passed.
  std::map<std::string, std::map<std::string, Tensor>> found;  // param -> slot -> tensor
  const size_t plen = std::string(kPrefix).size();
  for (const auto& [full, t] : tensors) {
    if (full.compare(0, plen, kPrefix) != 0) continue;
    const std::string rest = full.substr(plen);
    const size_t dot = rest.rfind('.');
    DR_CHECK(dot != std::string::npos && dot > 0,
             k << ".load_state: '" << full << "' is not optimizer.<param>.<slot>");
    const std::string param = rest.substr(0, dot), slot = rest.substr(dot + 1);
    auto pit = index.find(param);
    DR_CHECK(pit != index.end(),
             k << ".load_state: unexpected '" << full << "': no parameter '" << param
               << "' in this optimizer");
    bool slot_ok = false;
    for (const std::string& s : known) slot_ok = slot_ok || s == slot;
    DR_CHECK(slot_ok, k << ".load_state: unexpected '" << full << "': '" << slot
                        << "' is not a " << k << " state slot");
    DR_CHECK(t.defined(), k << ".load_state: '" << full << "' is undefined");
    const Tensor& p = *pit->second.second;
    if (slot == "step") {
      DR_CHECK(t.dtype() == DType::I64 && t.numel() == 1,
               k << ".load_state: '" << full << "' must be one i64, is " << t.str());
      DR_CHECK(!t.is_cuda() && t.item<int64_t>() >= 1,
               k << ".load_state: '" << full << "' must be a host step count >= 1");
    } else {
      DR_CHECK(t.dtype() == p.dtype() && t.shape() == p.shape(),
               k << ".load_state: '" << full << "' is " << t.str() << ", parameter '" << param
                 << "' is " << p.str());
    }
    DR_CHECK(found[param].emplace(slot, t).second,
             k << ".load_state: '" << full << "' appears more than once");
  }
  std::vector<std::string> missing;
  for (const auto& [param, gp] : index) {
    auto fit = found.find(param);
    const std::vector<std::string> need = required_slots(*gp.first);
    if (fit == found.end()) {
      if (!allow_missing)
        for (const std::string& s : need) missing.push_back(kPrefix + param + "." + s);
      continue;
    }
    for (const std::string& s : slot_names())  // Adam: all three or none
      if (kind_ != OptimizerKind::SGD && !fit->second.count(s))
        missing.push_back(kPrefix + param + "." + s);
  }
  if (!missing.empty()) {
    std::ostringstream os;
    for (size_t i = 0; i < missing.size() && i < 8; ++i) os << (i ? ", " : "") << missing[i];
    if (missing.size() > 8) os << ", ... (" << missing.size() << " in all)";
    DR_FAIL(k << ".load_state: missing optimizer state " << os.str());
  }

  std::map<std::string, ParamState> state;
  auto to_device = [&](const Tensor& src) {
    Tensor dst = ctx_.empty(src.shape(), src.dtype());
    ctx_.copy(dst, src);
    return dst;
  };
  for (const auto& [param, slots] : found) {
    ParamState& st = state[param];
    for (const auto& [slot, t] : slots) {
      if (slot == "step") st.step = t.item<int64_t>();
      if (slot == "momentum_buffer") st.momentum_buffer = to_device(t);
      if (slot == "exp_avg") st.exp_avg = to_device(t);
      if (slot == "exp_avg_sq") st.exp_avg_sq = to_device(t);
    }
  }
  state_ = std::move(state);
}

}  // namespace dr::train
