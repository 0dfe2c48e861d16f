#include "nn/module.h"

#include <exception>

namespace dr {

Tensor& Module::register_parameter(const std::string& name, Tensor& t, bool requires_grad,
                                   const ParamTags& tags) {
  t.set_requires_grad(requires_grad);
  params_.push_back({name, &t, tags});
  return t;
}

Tensor& Module::register_buffer(const std::string& name, Tensor& t) {
  buffers_.emplace_back(name, &t);
  return t;
}

// torch's state_dict order: a module's own parameters, then its buffers, then children.
void Module::collect(const std::string& prefix, const std::string* stage,
                     std::vector<NamedTensor>& out) const {
  std::string own;  // this module's path when it starts a stage
  if (!stage && stage_root_) {
    own = prefix.empty() ? "" : prefix.substr(0, prefix.size() - 1);  // without the last '.'
    stage = &own;
  }
  for (auto& p : params_) {
    NamedTensor nt{prefix + p.name, p.tensor, true, p.tags};
    nt.tags.stage = stage ? *stage : "";
    out.push_back(std::move(nt));
  }
  for (auto& b : buffers_) out.push_back({prefix + b.first, b.second, false, ParamTags()});
  for (auto& c : children_) c.second->collect(prefix + c.first + ".", stage, out);
}

std::vector<NamedTensor> Module::named_tensors(const std::string& prefix) const {
  std::vector<NamedTensor> out;
  collect(prefix.empty() ? "" : prefix + ".", nullptr, out);
  return out;
}

void Module::tag_parameters(const std::function<void(ParamTags&)>& edit) {
  for (auto& p : params_) edit(p.tags);
  for (auto& c : children_) c.second->tag_parameters(edit);
}

std::vector<NamedTensor> Module::named_parameters(const std::string& prefix) const {
  std::vector<NamedTensor> out;
  for (auto& nt : named_tensors(prefix))
    if (nt.is_parameter) out.push_back(nt);
  return out;
}

std::vector<NamedTensor> Module::trainable_parameters(const std::string& prefix) const {
  std::vector<NamedTensor> out;
  for (auto& nt : named_parameters(prefix))
    if (nt.tensor->requires_grad()) out.push_back(nt);
  return out;
}

std::vector<std::pair<std::string, Module*>> Module::named_modules(const std::string& prefix) {
  std::vector<std::pair<std::string, Module*>> out = {{prefix, this}};
  for (auto& c : children_) {
    auto sub = c.second->named_modules(prefix.empty() ? c.first : prefix + "." + c.first);
    out.insert(out.end(), sub.begin(), sub.end());
  }
  return out;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& c : children_) c.second->train(on);
}

TrainingScope::TrainingScope(Context& ctx, const Module& model)
    : ctx_(ctx), prev_(ctx.grad_enabled()), exceptions_(std::uncaught_exceptions()) {
  DR_CHECK(model.is_training(),
           "TrainingScope: the model is in eval mode; call train(true) before a training forward");
  DR_CHECK(ctx.tape().size() == 0,
           "TrainingScope: a training forward must start on an empty tape, but it holds "
               << ctx.tape().size() << " entries (last: " << ctx.tape().ops().back()
               << "); run backward or clear the tape after the previous forward");
  ctx.set_grad_enabled(true);
}

TrainingScope::~TrainingScope() {
  ctx_.set_grad_enabled(prev_);
  if (std::uncaught_exceptions() > exceptions_) ctx_.tape().clear();
}

void Module::set_requires_grad(bool on) {
  for (auto& nt : named_parameters()) nt.tensor->set_requires_grad(on);
}

void Module::zero_grad() {
  for (auto& nt : named_parameters()) nt.tensor->zero_grad();
}

}  // namespace dr
