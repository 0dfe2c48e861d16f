// Optimizers: torch.optim.SGD, Adam and AdamW (torch 1.13, single-tensor path), with
// parameter groups and optimizer state keyed by parameter name, as torch's
// optimizer.param_groups and optimizer.state.
//
//   Optimizer opt(ctx, OptimizerKind::SGD, {group_decay, group_no_decay});
//   for each step s:
//     opt.zero_grad();  forward; ctx.backward(loss);
//     clip_grad_norm(ctx, opt.params(), max_norm);        // train/grad_clip.h, optional
//     apply_schedule(opt, schedule, s, total);             // train/schedule.h: lr per group
//     opt.step();
//
// A parameter whose gradient is undefined (t->grad() not defined: it took no part in the
// loss) is skipped, as torch skips p.grad is None: no update, no state change, and for
// Adam its step count does not advance.
//
// Checkpoints: state_tensors() lists the state as `optimizer.<param name>.<slot>` (slots
// below; Adam's per-parameter step count is the i64 (1) tensor `optimizer.<name>.step`),
// which the training loop stores in the flat tensor file (nn/tensor_file.h) beside the
// model; load_state() restores them strictly.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "nn/context.h"
#include "nn/tensor.h"

namespace dr::train {

enum class OptimizerKind { SGD, Adam, AdamW };
// "sgd" | "adam" | "adamw"; throws on anything else.
OptimizerKind optimizer_kind_from_name(const std::string& name);
const char* optimizer_kind_name(OptimizerKind kind);

using NamedParam = std::pair<std::string, Tensor*>;  // (state_dict name, the module's tensor)

// One torch param_group. Each group has its own hyper-parameters; the fields of the other
// optimizers are ignored (SGD: beta1, beta2, eps; Adam/AdamW: momentum, dampening, nesterov).
struct ParamGroup {
  std::vector<NamedParam> params;
  double base_lr = 0.01;  // the group's lr before scheduling (torch's initial_lr)
  double lr = 0.01;       // the lr of the next step(): set to base_lr at construction, then
                          // by the caller each step (apply_schedule: base_lr * factor)
  double weight_decay = 0;
  // SGD (torch defaults)
  double momentum = 0;
  double dampening = 0;
  bool nesterov = false;
  // Adam / AdamW (torch defaults; AdamW's default weight_decay 1e-2 is not implied here)
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
};

class Optimizer {
 public:
  // Validates the hyper-parameters as torch does (lr, weight_decay, momentum, eps >= 0;
  // betas in [0, 1); nesterov needs momentum > 0 and dampening 0), that every parameter is
  // a floating tensor on ctx's device (f32 on CUDA) and that names are unique across groups.
  Optimizer(Context& ctx, OptimizerKind kind, std::vector<ParamGroup> groups);
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  OptimizerKind kind() const { return kind_; }
  // Editable between steps (lr above all); hyper-parameters are re-validated by step().
  std::vector<ParamGroup>& groups() { return groups_; }
  const std::vector<ParamGroup>& groups() const { return groups_; }
  // Every parameter, in group order (for clip_grad_norm and zero_grad).
  std::vector<Tensor*> params() const;

  // One torch optimizer.step() over every group.
  void step();
  // Drops every parameter's gradient (torch zero_grad(set_to_none=True)), so a parameter
  // that gets no gradient in the next backward is skipped by the next step.
  void zero_grad();

  // The state slots of this kind, in the order state_tensors lists them: SGD:
  // momentum_buffer (only in groups with momentum != 0); Adam/AdamW: step, exp_avg, exp_avg_sq.
  std::vector<std::string> slot_names() const;
  // Host copies (a snapshot) of the state, `optimizer.<param>.<slot>`, in group/parameter
  // order. Parameters without state (never updated, or SGD without momentum) are absent.
  std::vector<std::pair<std::string, Tensor>> state_tensors() const;
  // Replaces the whole state with the `optimizer.`-prefixed entries of tensors (others are
  // ignored, so a checkpoint's full list can be passed). Errors name the tensor: an unknown
  // parameter or slot, a wrong dtype or shape, a duplicate, a parameter with only some of
  // its slots, and, unless allow_missing, a parameter without state where the kind keeps
  // some (allow_missing: such parameters start fresh, as if never updated).
  void load_state(const std::vector<std::pair<std::string, Tensor>>& tensors,
                  bool allow_missing = false);
  // Adam/AdamW: how many updates the parameter received (torch state['step']); 0 for SGD
  // or a parameter never updated.
  int64_t step_count(const std::string& param) const;

 private:
  // torch's optimizer.state[p]; tensors live on the parameter's device, shaped like it.
  struct ParamState {
    Tensor momentum_buffer;       // SGD with momentum
    Tensor exp_avg, exp_avg_sq;   // Adam / AdamW
    int64_t step = 0;             // Adam / AdamW
  };
  void validate_group(const ParamGroup& g, size_t index) const;
  // The slots a parameter of group g must have once updated (SGD without momentum: none).
  std::vector<std::string> required_slots(const ParamGroup& g) const;
  void sgd_update(const ParamGroup& g, const std::string& name, Tensor& p, const Tensor& grad);
  void adam_update(const ParamGroup& g, const std::string& name, Tensor& p, const Tensor& grad);

  Context& ctx_;
  OptimizerKind kind_;
  std::vector<ParamGroup> groups_;
  std::map<std::string, ParamState> state_;  // by parameter name, created on first update
};

}  // namespace dr::train
