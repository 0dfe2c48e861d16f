#!/usr/bin/env python3
"""Train torchvision's own Faster R-CNN with one of our recipes and score it with our evaluator.

  tools/tv_train.py --config configs/digit_cpu.json --model-from runs/ours/settings.json \\
      --train-json build/synth/train.json --valid-json build/synth/valid.json --out runs/tv
  tools/tv_train.py --model-from runs/ours/settings.json --out runs/tv     (the run's own recipe)

The comparison "ours vs torchvision on equal terms": the same data, sizes, model config,
optimizer, parameter groups, lr schedule, batches, epochs and evaluation as build/bin/train
(train/trainer.cpp), with torchvision's FasterRCNN (tools/tv_models.py build_model) and
torch.optim in place of ours. Runs with torch 1.13 / torchvision 0.14 (CPU) and torch 2.x
(CUDA); only public APIs.

Recipe (--config): the same JSON as build/bin/train (train/recipe.h TrainSettings keys,
"model" holds ModelConfig keys); unknown keys or wrong types are errors naming the key.
Flags below override it; --set KEY=VALUE (VALUE in JSON, else a string) overrides any key,
"model.KEY=VALUE" a model key.

The model config, as our trainer resolves it:
  --model-from RUN/settings.json (or a flat weight file, e.g. RUN/best.weights.bin): the
    resolved model config of one of our runs, used as it is (anchors included). Needed when
    the recipe says "anchors": "auto": ours picks the anchors by k-means on the training
    boxes, and torchvision must use the very same sizes and ratios. Without --config, a
    settings.json also supplies the run's recipe (its "settings"; --out is still required).
  otherwise: torchvision's defaults, the "finetune" file's config if any (all but
    num_classes), the recipe's "model" keys; num_classes from the data (largest category
    id + 1: 11 for digits) unless the recipe sets it.
Weights: torchvision's default init seeded with torch.manual_seed(seed), or the recipe's
"finetune" flat weight file (the box predictor stays fresh when its class count differs).

What matches our trainer:
  data      images: JSON path without .json (or train_images / valid_images); boxes clipped
            to the image, empty ones dropped; fixed_size [h, w]: bilinear resize of the 8-bit
            image (align_corners False, rounded) and its boxes, in training and validation
  order     each epoch's shuffle is our loader's (splitmix64 of seed and epoch, Fisher-Yates),
            so every batch holds the same images as ours; the last batch may be short
  optimizer sgd (momentum, dampening 0) | adam | adamw (betas 0.9/0.999, eps 1e-8); groups
            head, head/no_decay, backbone ("backbone.body." params, lr x backbone_lr_mult),
            backbone/no_decay (no_decay_norm_bias: BatchNorm weights/biases and all biases)
  step      accumulate batches (loss x 1/(batches in the step)), finite checks, global grad
            norm (clip_grad_norm > 0: torch.nn.utils.clip_grad_norm_), the lr of the step
            (warmup from warmup_start_factor, then cosine to eta_min / constant / multistep,
            in optimizer steps, closed form as train/schedule.h), step, zero_grad(set_to_none)
  validate  every valid_every epochs and after the last (and at a --max-iters stop at an
            epoch's end; a stop inside an epoch skips it, as ours): model.eval() on the valid
            images in batches of valid_batch_size, boxes mapped back to the file's pixels,
            OUT/valid/pred.json (COCO detections), then our evaluator (--eval-bin, default
            build/bin/eval) with --threshold score_thresh: mAP, AP50, whole-number accuracy
What differs (unavoidable): the random streams (init values, anchor / RoI sampling) are
torch's, not ours; torchvision's kernels; images decoded by torchvision.io (PNG identical,
JPEG decoders may differ by a level). Augmentation: only "none" (the comparison requires
--augment none on both sides). Not supported: resume, checkpoint_every (ignored).

Writes into --out (which must not hold a metrics.jsonl already):
  metrics.jsonl       the same lines as ours (docs/TRAIN.md): per step loss parts, lr,
                      grad_norm, time, data_time; per epoch train_loss, images_per_s, epoch_s,
                      val_map, val_map50, val_acc, val_s; `build/bin/plot --log` draws it
  final.pth, best.pth torchvision state_dicts (model.load_state_dict)
  final.weights.bin, best.weights.bin   the same as our flat weight files (build/bin/infer)
  valid/              the last validation's pred.json and our evaluator's output
  best_pred.json      the detections of the best validation
  settings.json       the settings, the resolved model config, torch / torchvision versions
  plots/              loss, lr and val charts (when --plot-bin exists)
Exit status: 0 done, 1 error, 3 NaN/Inf loss or gradient, 128+signal when interrupted
(Ctrl-C / SIGTERM finish the step and write last.pth).
"""
import argparse
import json
import math
import os
import shutil
import sys
import time

import torch
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import flatfile  # noqa: E402
import tv_models  # noqa: E402
from tvtrain import optim, runlog, signals, weights  # noqa: E402
from tvtrain.common import NonFinite, fail, log  # noqa: E402
from tvtrain.data import CocoSplit, batches_of, epoch_order, make_loader  # noqa: E402
from tvtrain.recipe import build_settings, resolve_config  # noqa: E402
from tvtrain.validate import validate  # noqa: E402


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", help="our recipe JSON (configs/*.json)")
    p.add_argument("--model-from", metavar="FILE",
                   help="RUN/settings.json or a flat weight file of our run: its resolved model "
                        "config (anchors included); without --config a settings.json also gives "
                        "the recipe")
    p.add_argument("--train-json", help="training split (COCO); images: the path without .json")
    p.add_argument("--train-images", help="training images folder (default: see above)")
    p.add_argument("--valid-json", help="validation split (none: no validation, no best.*)")
    p.add_argument("--valid-images", help="validation images folder")
    p.add_argument("--out", required=True, help="the run's folder (must not hold metrics.jsonl)")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--max-iters", type=int, help="stop after N optimizer steps (the schedule "
                                                 "still spans the epochs)")
    p.add_argument("--seed", type=int, help="torch.manual_seed (init, sampling) and our shuffle")
    p.add_argument("--threads", type=int, help="torch.set_num_threads (0: torch's default)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"])
    p.add_argument("--workers", type=int, help="DataLoader worker processes (0: in process)")
    p.add_argument("--valid-every", type=int, help="validate every N epochs and after the last")
    p.add_argument("--log-every", type=int, help="a metrics.jsonl step line every N steps")
    p.add_argument("--augment", choices=["none"],
                   help="override the recipe's preset (only none: no augmentation here)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override any recipe key (VALUE as JSON, else a string); model.KEY=VALUE "
                        "a model key; repeatable")
    p.add_argument("--eval-bin", default=os.path.join(REPO, "build", "bin", "eval"),
                   help="our evaluator (default: build/bin/eval of this checkout)")
    p.add_argument("--plot-bin", default=os.path.join(REPO, "build", "bin", "plot"),
                   help="our chart tool for OUT/plots (skipped when missing)")
    p.add_argument("--progress-every", type=int, default=10, metavar="N",
                   help="a progress line on stderr every N steps (default 10)")
    return p.parse_args(argv)


def main(argv=None):
    a = parse_args(argv)
    s, model_from = build_settings(a)
    if s["threads"] > 0:
        torch.set_num_threads(s["threads"])
        try:
            torch.set_num_interop_threads(s["threads"])
        except RuntimeError:
            pass
    if s["device"] == "cuda" and not torch.cuda.is_available():
        fail("device cuda: torch sees no CUDA device; use --device cpu")
    device = torch.device("cuda" if s["device"] == "cuda" or
                          (s["device"] == "auto" and torch.cuda.is_available()) else "cpu")
    if s["valid_json"] and not os.access(a.eval_bin, os.X_OK):
        fail(f"our evaluator {a.eval_bin} is missing (build it: make build/bin/eval, or pass "
             "--eval-bin)")
    out = s["out"]
    log_path = os.path.join(out, "metrics.jsonl")
    if os.path.exists(log_path):
        fail(f"{log_path} exists: choose another --out (this tool does not resume)")

    # ---- data ----
    train_ds = CocoSplit(s["train_json"], s["train_images"], s["fixed_size"])
    if len(train_ds) == 0:
        fail(f"{s['train_json']}: no images to train on")
    valid_ds = CocoSplit(s["valid_json"], s["valid_images"], s["fixed_size"]) \
        if s["valid_json"] else None

    # ---- model ----
    finetune_meta = finetune_tensors = None
    if s["finetune"]:
        if not os.path.isfile(s["finetune"]):
            fail(f"finetune {s['finetune']} does not exist")
        finetune_meta, finetune_tensors = flatfile.read(s["finetune"])
    cfg = tv_models.full_config(resolve_config(s, model_from, train_ds.num_classes,
                                               finetune_meta))
    os.makedirs(out, exist_ok=True)  # (after the checks above)
    torch.manual_seed(s["seed"])  # torchvision's init; then the RPN / RoI sampling
    model = tv_models.build_model(cfg)
    if finetune_tensors is not None:
        weights.load_finetune(model, s["finetune"], finetune_meta, finetune_tensors)
        finetune_tensors = None
    model.to(device).train()
    with open(os.path.join(out, "settings.json"), "w") as f:
        json.dump({"settings": s, "config": cfg, "tool": "tools/tv_train.py",
                   "torch": torch.__version__, "torchvision": torchvision.__version__,
                   "device": str(device)}, f, indent=2, sort_keys=True)

    # ---- optimizer, schedule ----
    groups, labels = optim.param_groups(model, s)
    opt = optim.make_optimizer(groups, s)
    params = [p for g in opt.param_groups for p in g["params"]]
    named = {id(p): n for n, p in model.named_parameters()}
    n_batches = (len(train_ds) + s["batch_size"] - 1) // s["batch_size"]
    steps_per_epoch = (n_batches + s["accumulate"] - 1) // s["accumulate"]
    total_steps = steps_per_epoch * s["epochs"]
    sched = optim.schedule_in_steps(s, steps_per_epoch)
    if sched["kind"] == "cosine" and total_steps <= sched["warmup_steps"]:
        fail(f"lr schedule: cosine needs total steps ({total_steps}) > warmup_steps "
             f"({sched['warmup_steps']})")
    run_steps = min(total_steps, s["max_iters"]) if s["max_iters"] > 0 else total_steps

    body_norm = "FrozenBatchNorm2d" if isinstance(model.backbone.body.bn1,
                                                  torchvision.ops.FrozenBatchNorm2d) \
        else "BatchNorm2d"
    log(f"torchvision {torchvision.__version__} (torch {torch.__version__}): {cfg['arch']} "
        f"{cfg['backbone']} ({body_norm} body), {cfg['num_classes']} classes, min/max size "
        f"{cfg['min_size']}/{cfg['max_size']}, device {device}, {torch.get_num_threads()} threads")
    log(f"anchors: sizes {cfg['anchor_sizes']}, aspect ratios {cfg['aspect_ratios'][0]}"
        + (f" (from {a.model_from})" if model_from is not None else ""))
    log(f"{len(train_ds)} training images ({n_batches} batches of {s['batch_size']}, "
        f"{steps_per_epoch} optimizer steps an epoch, {s['epochs']} epochs = {total_steps} "
        f"steps), {len(valid_ds) if valid_ds else 0} validation images; augment none")
    log(f"{s['optimizer']} lr {s['lr']:g} (body x{s['backbone_lr_mult']:g}), weight decay "
        f"{s['weight_decay']:g}{' (none on norm/bias)' if s['no_decay_norm_bias'] else ''}, "
        f"{s['schedule']} schedule, warmup {s['warmup_epochs']:g} epochs from "
        f"x{s['warmup_start_factor']:g}; groups: "
        + " ".join(f"{lb} {len(g['params'])}" for lb, g in zip(labels, groups)))
    if s["checkpoint_every"]:
        log("note: checkpoint_every is ignored (no checkpoints; final.pth and best.pth only)")

    valid_loader = make_loader(valid_ds, batches_of(list(range(len(valid_ds))),
                                                    s["valid_batch_size"]), s["workers"]) \
        if valid_ds else None

    stop_sig = signals.catch_stop()  # the signals that came (finish the step, then stop)

    iteration, best, best_epoch = 0, -1.0, 0
    stop = s["max_iters"] > 0 and iteration >= s["max_iters"]
    source = f"tools/tv_train.py (torchvision {torchvision.__version__})"
    run_t0 = time.time()
    train_seconds_all = 0.0
    epoch = 0
    for epoch in range(s["epochs"]):
        if stop:
            break
        epoch_t0 = time.time()
        batches = batches_of(epoch_order(len(train_ds), s["seed"], epoch), s["batch_size"])
        it = iter(make_loader(train_ds, batches, s["workers"]))
        epoch_sum, epoch_steps, epoch_images = None, 0, 0
        group_sum, group_total, group_batches, data_time = None, 0.0, 0, 0.0
        step_t0 = time.time()
        done_batches = 0
        for index in range(n_batches):
            t = time.time()
            batch = next(it)
            data_time += time.time() - t
            group = index // s["accumulate"]
            group_size = min(s["accumulate"], n_batches - group * s["accumulate"])
            images = [b[0].to(device) for b in batch]
            targets = [{"boxes": b[1].to(device), "labels": b[2].to(device)} for b in batch]

            # -- forward + backward (gradients += over the step's batches) --
            loss_dict = model(images, targets)
            parts = [(k, v.item()) for k, v in loss_dict.items()]
            bad = [k for k, v in parts if not math.isfinite(v)]
            if bad:
                raise NonFinite(f"iteration {iteration}: {bad[0]} is not finite ("
                                + ", ".join(f"{k} = {v}" for k, v in parts)
                                + "); no update was made")
            total = sum(loss_dict.values())
            total.backward(torch.full_like(total, 1.0 / group_size))
            grads = optim.checked_grads(params, named, iteration)
            if group_sum is None:
                group_sum, group_total = [list(p) for p in parts], 0.0
            else:
                for k, (_, v) in enumerate(parts):
                    group_sum[k][1] += v
            group_total += sum(v for _, v in parts)
            group_batches += 1
            epoch_images += len(batch)
            done_batches = index + 1
            if group_batches < group_size:
                continue

            # -- update: grad norm (clip), lr of this step, optimizer step --
            gnorm = optim.grad_norm(params, grads, s["clip_grad_norm"])
            lr = optim.set_step_lr(opt, sched, iteration, total_steps)
            opt.step()
            opt.zero_grad(set_to_none=True)
            iteration += 1

            # -- metrics line and progress --
            step_time = time.time() - step_t0
            if epoch_sum is None:
                epoch_sum = [[k, 0.0] for k, _ in group_sum]
            rec = {"epoch": epoch + 1, "step": iteration, "loss": group_total / group_batches}
            for k, (name, v) in enumerate(group_sum):
                rec[name] = v / group_batches
                epoch_sum[k][1] += v / group_batches
            epoch_steps += 1
            rec.update({"lr": lr, "grad_norm": gnorm, "time": step_time, "data_time": data_time})
            if iteration % s["log_every"] == 0:
                runlog.append_line(log_path, rec)
            train_seconds_all += step_time
            if iteration % a.progress_every == 0 or index + 1 == n_batches:
                run_mean = sum(v for _, v in epoch_sum) / epoch_steps
                short = dict(loss_classifier="cls", loss_box_reg="box", loss_objectness="obj",
                             loss_rpn_box_reg="rpn")
                rate = iteration / max(train_seconds_all, 1e-9)
                log(f"epoch {epoch + 1}/{s['epochs']} step {epoch_steps}/{steps_per_epoch} "
                    f"({iteration}/{run_steps}) loss {run_mean:.3f} ("
                    + " ".join(f"{short.get(k, k)} {v / epoch_steps:.3f}" for k, v in epoch_sum)
                    + f") lr {lr:.2e}, {rate:.2f} steps/s, "
                    f"{epoch_images / max(time.time() - epoch_t0, 1e-9):.1f} images/s, "
                    f"ETA {runlog.hms((run_steps - iteration) / max(rate, 1e-9))}")
            group_sum, group_batches, data_time = None, 0, 0.0
            step_t0 = time.time()
            if stop_sig or (s["max_iters"] > 0 and iteration >= s["max_iters"]):
                stop = True
                break
        del it
        if done_batches < n_batches:
            break  # stopped inside the epoch: no epoch line, no validation (as ours)

        # ---- end of the epoch: validation, metrics, best ----
        train_seconds = time.time() - epoch_t0
        mean_loss = sum(v / max(epoch_steps, 1) for _, v in (epoch_sum or []))
        rec = {"epoch": epoch + 1, "train_loss": mean_loss,
               "images_per_s": epoch_images / max(train_seconds, 1e-9), "epoch_s": train_seconds}
        last_epoch = epoch + 1 == s["epochs"]
        validated = valid_loader is not None and (
            (epoch + 1) % s["valid_every"] == 0 or last_epoch or stop)
        line = f"epoch {epoch + 1}/{s['epochs']}: loss {mean_loss:.4f}, " \
               f"{rec['images_per_s']:.1f} images/s, {train_seconds:.0f} s"
        if validated:
            v = validate(model, valid_loader, device, s["valid_json"], os.path.join(out, "valid"),
                         s, a.eval_bin)
            rec.update({"val_map": v["map"], "val_map50": v["map50"], "val_acc": v["acc"],
                        "val_s": v["seconds"]})
            metric = v["map"] if s["best_by"] == "map" else v["acc"]
            improved = metric > best
            if improved:
                best, best_epoch = metric, epoch + 1
                weights.save_weights(model, cfg, os.path.join(out, "best"), source)
                shutil.copyfile(v["pred"], os.path.join(out, "best_pred.json"))
            line += (f"; validation mAP {v['map']:.4f}, AP50 {v['map50']:.4f}, accuracy "
                     f"{v['acc']:.4f} (score >= {s['score_thresh']:g}), {v['detections']} "
                     f"detections, {v['seconds']:.0f} s" + (" (best so far)" if improved else ""))
        log(line)
        runlog.append_line(log_path, rec)

    finished = iteration >= total_steps
    if stop_sig and not finished:
        weights.save_state(model, os.path.join(out, "last.pth"))
        log(f"interrupted by signal {stop_sig[0]} after iteration {iteration}; wrote "
            f"{out}/last.pth (this tool does not resume)")
        return 128 + stop_sig[0]
    weights.save_weights(model, cfg, os.path.join(out, "final"), source)
    runlog.plot(a.plot_bin, log_path, os.path.join(out, "plots"))
    log(f"{'done' if finished else 'stopped at --max-iters'} after {iteration} iterations "
        f"({time.time() - run_t0:.0f} s): {out}/final.pth, {out}/final.weights.bin"
        + (f", best {s['best_by']} {best:.4f} at epoch {best_epoch}: {out}/best.pth"
           if best_epoch else ""))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except NonFinite as e:
        print(f"tv_train: {e}", file=sys.stderr)
        sys.exit(3)
