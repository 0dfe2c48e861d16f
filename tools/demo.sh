#!/usr/bin/env bash
# `make demo`: the main job end to end on the built-in synthetic house-number data:
# synthetic train/valid splits -> train the digit_cpu recipe (configs/digit_cpu.json) on
# the CPU -> inference on the validation images -> COCO mAP and whole-number accuracy ->
# drawn detections and training curves. About 10 minutes on an idle 2-core machine
# (README.md has the measured time and numbers).
set -euo pipefail
BIN=${BIN:-build/bin}
OUT=${DEMO_OUT:-build/demo}
NTRAIN=${DEMO_TRAIN_COUNT:-1600}
NVALID=${DEMO_VALID_COUNT:-100}
RECIPE=${DEMO_RECIPE:-configs/digit_cpu.json}
# One pass over the training images fits the time budget (the cosine schedule spans it).
EXTRA=${DEMO_TRAIN_ARGS:---epochs 4}
THRESH=${DEMO_THRESH:-0.5}

step() { printf '\n== %s\n' "$*"; }
t0=$(date +%s)
mkdir -p "$OUT"
cat <<MSG
digit-rcnn demo -> $OUT
What runs: synthetic house numbers ($NTRAIN training, $NVALID validation images) -> training
a small Faster R-CNN ($RECIPE: v1 layout, ResNet-18 body with BatchNorm, from scratch) on
the CPU -> inference on the validation images (pred.json, pred.csv) -> COCO mAP and
whole-number accuracy -> drawn detections and training curves.
MSG

# --plain (plain backgrounds, no clutter or cut-off neighbour digits; fonts, geometry and
# camera degradation stay): a model trained from scratch for minutes on a CPU learns these;
# the full generator (make synth) needs far longer runs.
step "1/6 synthetic house numbers, plain backgrounds ($BIN/synth --plain)"
"$BIN/synth" --out "$OUT/data" --split-name train --count "$NTRAIN" --seed 0 --threads 2 --quiet --plain
"$BIN/synth" --out "$OUT/data" --split-name valid --count "$NVALID" --seed 1 --threads 2 --quiet --plain

step "2/6 preview of training samples with their boxes ($BIN/dataset preview)"
"$BIN/dataset" preview --json "$OUT/data/train.json" --out "$OUT/preview.png" --count 16

step "3/6 training $RECIPE on the CPU ($BIN/train; Ctrl-C stops it with a checkpoint)"
rm -rf "$OUT/run"  # a fresh run each time (train refuses to overwrite one)
t_train=$(date +%s)
"$BIN/train" --config "$RECIPE" --train-json "$OUT/data/train.json" \
  --valid-json "$OUT/data/valid.json" --out "$OUT/run" --device cpu --score-thresh "$THRESH" $EXTRA
train_s=$(( $(date +%s) - t_train ))

# Batches of 4 as the training's validation (a batch pads its images to one size, which
# moves detections slightly), so these numbers equal the run's last validation.
step "4/6 inference with the best weights ($BIN/infer)"
"$BIN/infer" --weights "$OUT/run/best.weights.bin" --coco "$OUT/data/valid.json" \
  --out "$OUT" --score-thresh "$THRESH" --device cpu --batch-size 4 --quiet

step "5/6 evaluation ($BIN/eval)"
"$BIN/eval" --gt "$OUT/data/valid.json" --pred "$OUT/pred.json" --csv "$OUT/pred.csv" \
  --out "$OUT/eval" --errors 5 | tee "$OUT/eval.txt"
echo
"$BIN/eval" --gt "$OUT/data/valid.json" --pred "$OUT/pred.json" --sweep --lo 0.05 --hi 0.95 \
  --step 0.05 --out "$OUT/sweep" --errors 0 | grep -A30 "^ *threshold" | tee "$OUT/sweep.txt"

# Drawn at the sweep's best threshold (a short run's scores are low; at 0.5 few boxes show).
best=$(grep -m1 "best threshold" "$OUT/sweep.txt" | awk '{print $5}')
best=${best:-$THRESH}
step "6/6 detections drawn on the first validation images at score >= $best ($BIN/visualize)"
"$BIN/visualize" --gt "$OUT/data/valid.json" --images "$OUT/data/valid" \
  --pred "$OUT/pred.json" --first 16 --threshold "$best" --grid "$OUT/detections.png"

map=$(grep -m1 "Average Precision  (AP) @\[ IoU=0.50:0.95 | area=   all" "$OUT/eval.txt" | awk '{print $NF}')
map50=$(grep -m1 "Average Precision  (AP) @\[ IoU=0.50      | area=   all" "$OUT/eval.txt" | awk '{print $NF}')
acc=$(grep -m1 "Whole-number accuracy" "$OUT/eval.txt" | awk '{print $4}')
cat <<MSG

Done in $(( $(date +%s) - t0 )) s (training $train_s s). Outputs in $OUT:
  preview.png          synthetic training samples with their boxes
  run/                 the training run: metrics.jsonl, last.ckpt, best.ckpt,
                       best.weights.bin, final.weights.bin, settings.json
  run/plots/           loss.png, lr.png, val.png (training curves)
  pred.json, pred.csv  detections and whole-number strings on the validation images
  eval/                metrics.json, errors.csv
  sweep/               mAP and accuracy by score threshold (sweep.png)
  detections.png       predictions (red, score >= $best) and ground truth (green)
Validation ($NVALID images): mAP@[.5:.95] $map, AP50 $map50, whole-number accuracy $acc
(score >= $THRESH); $(grep -m1 "best threshold" "$OUT/sweep.txt" || true).
An untrained model scores 0.000 on all of them.
MSG
