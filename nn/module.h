// Module: the parameter registry. A module registers its parameters, buffers and
// children under torch's member names, so named_tensors() yields exactly the keys of
// the matching torch module's state_dict() ("backbone.body.layer1.0.conv1.weight").
// Modules are neither copyable nor movable: the registry stores member addresses.
// A parameter carries, besides its value and its f32 gradient (Tensor's GradMeta) and
// requires_grad, the tags an optimizer groups it by (ParamTags); optimizer state lives in
// the optimizer, keyed by the parameter's name.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nn/context.h"
#include "nn/tensor.h"

namespace dr {

// What optimizers group parameters by, as torchvision's detection references do
// (utils.set_weight_decay: norm layers and biases get their own weight decay; a backbone
// can get its own learning rate).
struct ParamTags {
  bool norm = false;    // weight or bias of a BatchNorm2d (FrozenBatchNorm2d has only buffers)
  bool bias = false;    // a bias vector (conv, linear or norm layer)
  // The part of the model it belongs to: the dotted path of its outermost ancestor marked
  // with set_stage_root(), e.g. "backbone.body", "backbone.fpn", "rpn", "roi_heads"; ""
  // when there is none.
  std::string stage;
  // Inside a ResNet body, torchvision's layer index: 0 for the stem (conv1, bn1), 1..4 for
  // layer1..layer4; -1 elsewhere.
  int body_layer = -1;
};

// The tags layers register with: a conv/linear bias; a norm layer's weight or bias.
inline ParamTags bias_tags() {
  ParamTags t;
  t.bias = true;
  return t;
}
inline ParamTags norm_tags(bool is_bias) {
  ParamTags t;
  t.norm = true;
  t.bias = is_bias;
  return t;
}

struct NamedTensor {
  std::string name;
  Tensor* tensor;     // points into the owning module; assign through it to load weights
  bool is_parameter;  // false for buffers (running stats, num_batches_tracked)
  ParamTags tags;     // parameters only (buffers keep the defaults)
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

  // Marks this module as a stage of the model: parameters under it get its dotted path
  // as ParamTags::stage (the outermost mark wins). Set by the module that owns it.
  void set_stage_root(bool on = true) { stage_root_ = on; }
  // Edits the tags of every parameter registered in this subtree (e.g. the ResNet body
  // numbering its layers).
  void tag_parameters(const std::function<void(ParamTags&)>& edit);

 protected:
  // Register members in the order torch's __init__ creates them (state_dict order).
  // tags: norm / bias as the layer knows them (stage comes from set_stage_root).
  Tensor& register_parameter(const std::string& name, Tensor& t, bool requires_grad = true,
                             const ParamTags& tags = ParamTags());
  Tensor& register_buffer(const std::string& name, Tensor& t);
  template <class M>
  M& register_module(const std::string& name, M& m) {
    children_.emplace_back(name, &m);
    return m;
  }
  bool training_ = false;

 private:
  struct Param {
    std::string name;
    Tensor* tensor;
    ParamTags tags;
  };
  // stage: the enclosing stage's path, or null when none encloses this module yet.
  void collect(const std::string& prefix, const std::string* stage,
               std::vector<NamedTensor>& out) const;
  std::vector<Param> params_;
  bool stage_root_ = false;
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
