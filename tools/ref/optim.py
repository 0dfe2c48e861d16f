"""Reference dump for train/optimizer, train/grad_clip and train/schedule: torch.optim
SGD (plain; momentum + dampening; nesterov), Adam and AdamW (single-tensor path,
foreach=False) over 20 steps, and torch's LR schedulers step by step.

Optimizer runs: two parameter groups with different lr / weight decay (group 1 without
decay, and for Adam other betas/eps), parameters of odd shapes, seeded random gradients
(the same ones for every optimizer; dumped so the C++ side feeds them too). Parameter 2
gets no gradient on some steps (p.grad = None: torch skips it, and Adam's per-parameter
step count falls behind). clip_grad_norm_ runs before the steps listed in CLIP, with a
max_norm that clips at some and not at others; each run is repeated without clipping
(<run>_noclip), whose float32 results C++ must reproduce bit for bit (clipping adds
torch's float32 norm reduction, whose summation order we do not copy). Everything runs
in float32 and float64.

Names (dtype in f32/f64, step s in 1..20, parameter i):
  <dtype>.init.<i>             initial parameter values (shared by all runs)
  <dtype>.grad.<s>.<i>         gradient fed before step s (absent: no gradient)
  <run>.<dtype>.param.<s>.<i>  parameter after step s (run: a RUNS key, or that + "_noclip")
  <run>.<dtype>.norm.<s>       clip_grad_norm_'s total norm before step s (CLIP steps)
  <run>.<dtype>.state.<i>.<slot>  optimizer state after the last step
  sched.<name>.lr              (steps+1, groups) f64: the group lrs at step 0..steps
The meta holds each run's groups and hyper-parameters, and each schedule's config in
the shape of train/schedule.h's LrScheduleConfig (read with lr_schedule_from_json).
"""
import itertools
import os
import sys
import warnings

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import flatfile  # noqa: E402

STEPS = 20
SHAPES = [(3, 5, 7), (13,), (2, 1, 3, 3), (1,)]
# Gradient of parameter 2 is None on these steps.
NO_GRAD = {(s, 2) for s in (1, 4, 5, 11)}
# max_norm of clip_grad_norm_ before step s; gradients are N(0,1), total norm ~ 16.
CLIP = {3: 5.0, 7: 100.0, 8: 1.0, 15: 12.0}

RUNS = {
    "sgd": {"kind": "sgd", "groups": [
        {"params": [0, 2], "lr": 0.1, "weight_decay": 1e-2},
        {"params": [1, 3], "lr": 0.05, "weight_decay": 0.0}]},
    "sgd_momentum": {"kind": "sgd", "groups": [
        {"params": [0, 2], "lr": 0.1, "weight_decay": 1e-2, "momentum": 0.9, "dampening": 0.1},
        {"params": [1, 3], "lr": 0.05, "weight_decay": 0.0, "momentum": 0.8, "dampening": 0.0}]},
    "sgd_nesterov": {"kind": "sgd", "groups": [
        {"params": [0, 2], "lr": 0.1, "weight_decay": 5e-3, "momentum": 0.9, "nesterov": True},
        {"params": [1, 3], "lr": 0.02, "weight_decay": 0.0, "momentum": 0.7, "nesterov": True}]},
    "adam": {"kind": "adam", "groups": [
        {"params": [0, 2], "lr": 1e-2, "weight_decay": 1e-2, "beta1": 0.9, "beta2": 0.999,
         "eps": 1e-8},
        {"params": [1, 3], "lr": 3e-3, "weight_decay": 0.0, "beta1": 0.8, "beta2": 0.99,
         "eps": 1e-6}]},
    "adamw": {"kind": "adamw", "groups": [
        {"params": [0, 2], "lr": 1e-2, "weight_decay": 0.05, "beta1": 0.9, "beta2": 0.999,
         "eps": 1e-8},
        {"params": [1, 3], "lr": 3e-3, "weight_decay": 0.0, "beta1": 0.85, "beta2": 0.98,
         "eps": 1e-7}]},
}


def make_optimizer(kind, params, groups):
    pg = []
    for g in groups:
        d = {"params": [params[i] for i in g["params"]], "lr": g["lr"],
             "weight_decay": g["weight_decay"]}
        if kind == "sgd":
            d.update(momentum=g.get("momentum", 0.0), dampening=g.get("dampening", 0.0),
                     nesterov=g.get("nesterov", False))
        else:
            d.update(betas=(g["beta1"], g["beta2"]), eps=g["eps"])
        pg.append(d)
    cls = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[kind]
    return cls(pg, lr=1.0, foreach=False)


def optimizer_runs(out):
    gen = torch.Generator().manual_seed(0)
    init = [torch.randn(s, generator=gen, dtype=torch.float64) for s in SHAPES]
    grads = {(s, i): torch.randn(SHAPES[i], generator=gen, dtype=torch.float64)
             for s in range(1, STEPS + 1) for i in range(len(SHAPES)) if (s, i) not in NO_GRAD}
    for dtype, dname in ((torch.float32, "f32"), (torch.float64, "f64")):
        for i, t in enumerate(init):
            out[f"{dname}.init.{i}"] = t.to(dtype)
        for (s, i), g in grads.items():
            out[f"{dname}.grad.{s}.{i}"] = g.to(dtype)
        for (name, cfg), clip in itertools.product(RUNS.items(), (CLIP, {})):
            run = name if clip else name + "_noclip"
            params = [torch.nn.Parameter(t.to(dtype).clone()) for t in init]
            opt = make_optimizer(cfg["kind"], params, cfg["groups"])
            for s in range(1, STEPS + 1):
                for i, p in enumerate(params):
                    p.grad = grads[(s, i)].to(dtype).clone() if (s, i) in grads else None
                if s in clip:
                    norm = torch.nn.utils.clip_grad_norm_(params, clip[s])
                    out[f"{run}.{dname}.norm.{s}"] = norm.reshape(1)
                opt.step()
                for i, p in enumerate(params):
                    out[f"{run}.{dname}.param.{s}.{i}"] = p.detach().clone()
            for i, p in enumerate(params):
                for slot, v in opt.state[p].items():
                    if v is None:  # SGD without momentum keeps momentum_buffer = None
                        continue
                    if slot == "step":
                        v = torch.tensor([int(v.item())], dtype=torch.int64)
                    out[f"{run}.{dname}.state.{i}.{slot}"] = v.detach().clone()


# Schedules: (name, config as train/schedule.h reads it, total steps, base lrs).
SCHEDULES = [
    # The seed recipe: warmup "from 0" then cosine. torch's LinearLR divides by
    # start_factor (0 raises ZeroDivisionError), so the smallest positive factor stands in.
    ("warmup_cosine_tiny", {"kind": "cosine", "warmup_steps": 100, "warmup_start_factor": 1e-300,
                            "eta_min": 1e-5}, 1000, [0.02, 0.002]),
    ("warmup_cosine_1e-8", {"kind": "cosine", "warmup_steps": 50, "warmup_start_factor": 1e-8,
                            "eta_min": 0.0}, 700, [0.01, 0.1]),
    ("cosine", {"kind": "cosine", "warmup_steps": 0, "eta_min": 0.0}, 1000, [0.02, 0.005]),
    ("cosine_eta", {"kind": "cosine", "warmup_steps": 0, "eta_min": 1e-4}, 333, [0.02, 1e-3]),
    ("multistep", {"kind": "multistep", "milestones": [300, 300, 800], "gamma": 0.1,
                   "warmup_steps": 0}, 1000, [0.02, 0.01]),
    ("warmup_multistep", {"kind": "multistep", "milestones": [600, 850], "gamma": 0.5,
                          "warmup_steps": 200, "warmup_start_factor": 0.001}, 1000, [0.02, 0.01]),
    ("warmup_constant", {"kind": "constant", "warmup_steps": 37, "warmup_start_factor": 0.25},
     100, [0.02, 0.01]),
    # Per-epoch stepping: few steps, so the cosine's period is short.
    ("epoch_warmup_cosine", {"kind": "cosine", "warmup_steps": 3, "warmup_start_factor": 0.1,
                             "eta_min": 0.0}, 26, [0.02, 0.002]),
    ("epoch_multistep", {"kind": "multistep", "milestones": [16, 22], "gamma": 0.1,
                         "warmup_steps": 0}, 26, [0.02, 0.002]),
]


def torch_schedule(cfg, total, opt):
    S = torch.optim.lr_scheduler
    w = cfg.get("warmup_steps", 0)
    sf = cfg.get("warmup_start_factor", 1.0)
    warm = (lambda: S.LinearLR(opt, start_factor=sf, end_factor=1.0, total_iters=w))
    if cfg["kind"] == "cosine":
        if w == 0:
            return S.CosineAnnealingLR(opt, T_max=total, eta_min=cfg["eta_min"])
        first = warm()
        cos = S.CosineAnnealingLR(opt, T_max=total - w, eta_min=cfg["eta_min"])
        return S.SequentialLR(opt, [first, cos], milestones=[w])
    if cfg["kind"] == "multistep":
        ms = S.MultiStepLR(opt, milestones=cfg["milestones"], gamma=cfg["gamma"])
        return ms if w == 0 else S.ChainedScheduler([warm(), ms])
    assert cfg["kind"] == "constant" and w > 0
    return warm()


def schedule_runs(out, meta):
    meta["schedules"] = {}
    for name, cfg, total, base in SCHEDULES:
        opt = torch.optim.SGD([{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr}
                               for lr in base], lr=1.0)
        sched = torch_schedule(cfg, total, opt)
        lrs = []
        for _ in range(total + 1):
            lrs.append([g["lr"] for g in opt.param_groups])
            opt.step()
            sched.step()
        out[f"sched.{name}.lr"] = torch.tensor(lrs, dtype=torch.float64)
        meta["schedules"][name] = {"config": cfg, "total": total, "base_lrs": base}


def main():
    warnings.simplefilter("ignore")  # scheduler step-order / get_lr warnings
    torch.manual_seed(0)
    out, meta = {}, {"torch": torch.__version__, "steps": STEPS, "shapes": SHAPES,
                     "runs": RUNS, "clip": {str(k): v for k, v in CLIP.items()}}
    optimizer_runs(out)
    schedule_runs(out, meta)
    flatfile.write(sys.argv[1], out, meta=meta)


if __name__ == "__main__":
    main()
