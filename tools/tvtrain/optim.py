"""The optimization as our trainer does it: parameter groups (train/param_groups.cpp), the
torch.optim optimizer, the lr of every optimizer step (train/recipe.cpp schedule_in_steps,
train/schedule.cpp scheduled_lr, in closed form), the finite-gradient check, the global
gradient norm and its clipping."""
import math

import torch
from torch import nn

from tvtrain.common import NonFinite, fail

BACKBONE_PREFIX = "backbone.body."  # train/param_groups.h kBackbonePrefix


def param_groups(model, s):
    """train/param_groups.cpp: [head, head/no_decay, backbone, backbone/no_decay]."""
    norms = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)
    bins = {}
    for mname, module in model.named_modules():
        for pname, p in module.named_parameters(recurse=False):
            if not p.requires_grad:
                continue
            full = f"{mname}.{pname}" if mname else pname
            backbone = full.startswith(BACKBONE_PREFIX)
            no_decay = s["no_decay_norm_bias"] and (isinstance(module, norms) or pname == "bias")
            bins.setdefault((backbone, no_decay), []).append(p)
    groups, labels = [], []
    for b in (False, True):
        for nd in (False, True):
            if not bins.get((b, nd)):
                continue
            lr = s["lr"] * s["backbone_lr_mult"] if b else s["lr"]
            groups.append({"params": bins[(b, nd)], "lr": lr, "base_lr": lr,
                           "weight_decay": 0.0 if nd else s["weight_decay"]})
            labels.append(("backbone" if b else "head") + ("/no_decay" if nd else ""))
    if not groups:
        fail("param groups: the model has no trainable parameter")
    return groups, labels


def make_optimizer(groups, s):
    if s["optimizer"] == "sgd":
        return torch.optim.SGD(groups, lr=s["lr"], momentum=s["momentum"], dampening=0,
                               nesterov=False)
    cls = torch.optim.Adam if s["optimizer"] == "adam" else torch.optim.AdamW
    return cls(groups, lr=s["lr"], betas=(0.9, 0.999), eps=1e-8)


def round_half_away(x):
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


def schedule_in_steps(s, steps_per_epoch):
    """train/recipe.cpp schedule_in_steps."""
    return {"kind": s["schedule"],
            "warmup_steps": round_half_away(s["warmup_epochs"] * steps_per_epoch),
            "warmup_start_factor": s["warmup_start_factor"], "eta_min": s["eta_min"],
            "milestones": [m * steps_per_epoch for m in s["milestones"]], "gamma": s["gamma"]}


def scheduled_lr(c, base_lr, step, total):
    """train/schedule.cpp scheduled_lr (torch's schedulers in closed form)."""
    w = c["warmup_steps"]
    if c["kind"] == "cosine" and step >= w:
        e, t_max = min(step - w, total - w), total - w
        return c["eta_min"] + (base_lr - c["eta_min"]) * (1 + math.cos(math.pi * e / t_max)) / 2
    factor = 1.0 if step >= w else \
        c["warmup_start_factor"] + (1.0 - c["warmup_start_factor"]) * step / w
    lr = base_lr * factor
    if c["kind"] == "multistep":
        lr *= c["gamma"] ** sum(1 for m in c["milestones"] if m <= step)
    return lr


def set_step_lr(opt, sched, step, total):
    """Sets every group's lr for optimizer step `step`; returns the first group's."""
    for g in opt.param_groups:
        g["lr"] = scheduled_lr(sched, g["base_lr"], step, total)
    return opt.param_groups[0]["lr"]


def checked_grads(params, named, iteration):
    """The gradients present; NonFinite (naming the first bad parameter) when one holds a NaN
    or Inf. named: id(param) -> its name."""
    grads = [p.grad for p in params if p.grad is not None]
    if grads and not bool(torch.stack([torch.isfinite(g).all() for g in grads]).all()):
        name = next(named.get(id(p), "?") for p in params
                    if p.grad is not None and not bool(torch.isfinite(p.grad).all()))
        raise NonFinite(f"iteration {iteration}: the gradient of {name} has non-finite "
                        "values (losses were finite); no update was made")
    return grads


def grad_norm(params, grads, clip):
    """The global L2 norm of the gradients before clipping; clip > 0 clips them to it
    (torch.nn.utils.clip_grad_norm_)."""
    if clip > 0:
        return float(torch.nn.utils.clip_grad_norm_(params, clip))
    return float(torch.norm(torch.stack([torch.norm(g.detach(), 2) for g in grads]), 2)) \
        if grads else 0.0
