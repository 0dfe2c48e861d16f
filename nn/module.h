// Module: the parameter registry. A module registers its parameters, buffers and
// children under torch's member names, so named_tensors() yields exactly the keys of
// the matching torch module's state_dict() ("backbone.body.layer1.0.conv1.weight").
// Modules are neither copyable nor movable: the registry stores member addresses.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nn/context.h"
#include "nn/tensor.h"

namespace dr {

struct NamedTensor {
  std::string name;
  Tensor* tensor;     // points into the owning module; assign through it to load weights
  bool is_parameter;  // false for buffers (running stats, num_batches_tracked)
};

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // Parameters and buffers in registration order, with dotted names under prefix.
  std::vector<NamedTensor> named_tensors(const std::string& prefix = "") const;
  std::vector<NamedTensor> named_parameters(const std::string& prefix = "") const;
  // Trainable parameters only (requires_grad), e.g. for the optimizer.
  std::vector<NamedTensor> trainable_parameters(const std::string& prefix = "") const;
  // This module ("" or prefix) and every registered descendant, depth first, with dotted
  // names (torch's named_modules()).
  std::vector<std::pair<std::string, Module*>> named_modules(const std::string& prefix = "");

  // train(true) switches BatchNorm to batch statistics; train(false) is eval mode.
  virtual void train(bool on = true);
  bool is_training() const { return training_; }
  // Freezes (requires_grad = false) or unfreezes every parameter of this subtree.
  void set_requires_grad(bool on);
  void zero_grad();

 protected:
  // Register members in the order torch's __init__ creates them (state_dict order).
  Tensor& register_parameter(const std::string& name, Tensor& t, bool requires_grad = true);
  Tensor& register_buffer(const std::string& name, Tensor& t);
  template <class M>
  M& register_module(const std::string& name, M& m) {
    children_.emplace_back(name, &m);
    return m;
  }
  bool training_ = false;

 private:
  void collect(const std::string& prefix, std::vector<NamedTensor>& out) const;
  std::vector<std::pair<std::string, Tensor*>> params_;
  std::vector<std::pair<std::string, Tensor*>> buffers_;
  std::vector<std::pair<std::string, Module*>> children_;
};

// The scope of one training forward (and its backward): checks that the model is in
// training mode and that the tape is empty ("a training forward must start on an empty
// tape": a leftover tape means an earlier forward was never backpropagated or cleared),
// then turns recording on until the scope ends, restoring the previous mode. If the scope
// is left by an exception, the half-recorded tape is cleared.
//   { TrainingScope scope(ctx, model); Tensor loss = ...; ctx.backward(loss); }
class TrainingScope {
 public:
  TrainingScope(Context& ctx, const Module& model);
  ~TrainingScope();
  TrainingScope(const TrainingScope&) = delete;
  TrainingScope& operator=(const TrainingScope&) = delete;

 private:
  Context& ctx_;
  bool prev_;
  int exceptions_;  // std::uncaught_exceptions() at entry
};

// ModuleList / Sequential container: owns children named "0", "1", ... like torch.
class ModuleList : public Module {
 public:
  template <class M, class... Args>
  M& emplace(Args&&... args) {
    auto m = std::make_unique<M>(std::forward<Args>(args)...);
    M& ref = *m;
    register_module(std::to_string(items_.size()), ref);
    items_.push_back(std::move(m));
    return ref;
  }
  size_t size() const { return items_.size(); }
  Module& operator[](size_t i) { return *items_.at(i); }
  template <class M>
  M& get(size_t i) {
    return dynamic_cast<M&>(*items_.at(i));
  }

 private:
  std::vector<std::unique_ptr<Module>> items_;
};

}  // namespace dr
