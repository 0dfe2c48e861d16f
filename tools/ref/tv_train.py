"""Reference dump for tools/tv_train.py's mirrors of our trainer: the epoch order
(data/loader.cpp epoch_order, splitmix64 + Fisher-Yates) and the lr of every optimizer
step (train/recipe.cpp schedule_in_steps + train/schedule.cpp scheduled_lr), as the
Python tool computes them. tests/test_tv_train.cpp checks that the C++ gives the same,
so a torchvision run sees the same batches and learning rates as ours.

Names:
  order.<k>   (n,) i64: tvtrain.data.epoch_order(n, seed, epoch) of meta.orders[k]
  lr.<k>      (total + 1,) f64: the lr at steps 0..total of meta.schedules[k] (recipe keys,
              plus steps_per_epoch and base_lr)
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import flatfile  # noqa: E402
from tvtrain import data, optim, recipe  # noqa: E402  (tools/tv_train.py's parts)

ORDERS = [(16, 0, 0), (16, 0, 1), (1000, 7, 3), (5, 2**64 - 1, 12), (1, 3, 0), (33, 123, 40)]
SCHEDULES = [
    # digit_cpu: warmup 0.2 epoch from 0 (0.8 steps rounds to 1), cosine to 0
    {"schedule": "cosine", "epochs": 2, "warmup_epochs": 0.2, "warmup_start_factor": 0.0,
     "eta_min": 0.0, "steps_per_epoch": 4, "base_lr": 0.02},
    # seed000-like: 5 warmup epochs from 0, cosine to an absolute eta_min
    {"schedule": "cosine", "epochs": 50, "warmup_epochs": 5, "warmup_start_factor": 0.0,
     "eta_min": 5e-6, "steps_per_epoch": 7, "base_lr": 1e-4},
    # half a step of warmup rounds away from zero (llround), no warmup
    {"schedule": "cosine", "epochs": 3, "warmup_epochs": 0.5, "warmup_start_factor": 0.1,
     "steps_per_epoch": 1, "base_lr": 0.5},
    {"schedule": "cosine", "epochs": 3, "steps_per_epoch": 5, "base_lr": 0.5},
    # multistep with warmup, repeated milestones, gamma
    {"schedule": "multistep", "epochs": 6, "warmup_epochs": 1.5, "warmup_start_factor": 0.25,
     "milestones": [2, 4, 4], "gamma": 0.3, "steps_per_epoch": 3, "base_lr": 0.01},
    {"schedule": "constant", "epochs": 4, "warmup_epochs": 1, "warmup_start_factor": 0.001,
     "steps_per_epoch": 2, "base_lr": 0.1},
]


def main():
    out, meta = [], {"orders": [], "schedules": []}
    for k, (n, seed, epoch) in enumerate(ORDERS):
        out.append((f"order.{k}", np.array(data.epoch_order(n, seed, epoch), np.int64)))
        meta["orders"].append({"n": n, "seed": seed, "epoch": epoch})
    for k, case in enumerate(SCHEDULES):
        s = dict(recipe.RECIPE_DEFAULTS)
        s.update({key: v for key, v in case.items() if key in s})
        spe = case["steps_per_epoch"]
        sched = optim.schedule_in_steps(s, spe)
        total = spe * s["epochs"]
        lrs = [optim.scheduled_lr(sched, case["base_lr"], i, total) for i in range(total + 1)]
        out.append((f"lr.{k}", np.array(lrs, np.float64)))
        meta["schedules"].append(case)
    flatfile.write(sys.argv[1], out, meta=meta)


if __name__ == "__main__":
    main()
