#!/usr/bin/env bash
# `make demo`: the main job end to end on the built-in synthetic house-number data, as
# far as it exists today. Training is not written yet, so the detector is a randomly
# initialized Faster R-CNN v1 (torchvision's init, converted to our weight file): every
# stage runs for real, but its detections are noise and its scores are near zero.
set -euo pipefail
BIN=${BIN:-build/bin}
OUT=${DEMO_OUT:-build/demo}
N=${DEMO_COUNT:-60}
PY=${REF_PYTHON:-/usr/bin/python3}
SIZES=(--min-size 128 --max-size 256)

step() { printf '\n== %s\n' "$*"; }
mkdir -p "$OUT"
cat <<MSG
digit-rcnn demo -> $OUT
What runs: synthetic data -> data statistics and preview -> a Faster R-CNN v1 (ResNet-50
FPN, 11 classes) -> inference (pred.json, pred.csv) -> COCO mAP and whole-number accuracy
-> drawn detections. Training is NOT implemented yet: the model has random weights, so
expect mAP and accuracy of about 0. The point is that every stage works end to end.
MSG

step "1/7 synthetic house numbers: $N images ($BIN/synth)"
"$BIN/synth" --out "$OUT/data" --split-name valid --count "$N" --seed 1 --quiet
echo "wrote $OUT/data/valid/*.png and $OUT/data/valid.json"

step "2/7 data set statistics and anchor suggestion ($BIN/dataset stats)"
"$BIN/dataset" stats --json "$OUT/data/valid.json" "${SIZES[@]}"

step "3/7 preview grid with boxes ($BIN/dataset preview)"
"$BIN/dataset" preview --json "$OUT/data/valid.json" --out "$OUT/preview.png" --count 16 \
  --augment seed000

step "4/7 a randomly initialized model in our weight format (tools/convert_weights.py)"
"$PY" tools/convert_weights.py "$OUT/model.bin" --builder fasterrcnn_resnet50_fpn \
  --num-classes 11 "${SIZES[@]}" --seed 0

step "5/7 inference ($BIN/infer)"
"$BIN/infer" --weights "$OUT/model.bin" --coco "$OUT/data/valid.json" \
  --images "$OUT/data/valid" --out "$OUT" --score-thresh 0.5

step "6/7 evaluation ($BIN/eval)"
"$BIN/eval" --gt "$OUT/data/valid.json" --pred "$OUT/pred.json" --csv "$OUT/pred.csv" \
  --out "$OUT/eval"

step "7/7 detections drawn on the first images ($BIN/visualize)"
"$BIN/visualize" --gt "$OUT/data/valid.json" --images "$OUT/data/valid" \
  --pred "$OUT/pred.json" --first 8 --threshold 0.5 --grid "$OUT/detections.png"

cat <<MSG

Done. Outputs in $OUT:
  preview.png       synthetic samples (original | augmented) with their boxes
  model.bin         the (untrained) model in the flat weight format (docs/WEIGHTS.md)
  pred.json         COCO detections; pred.csv  whole-number strings
  eval/             metrics.json, errors.csv
  detections.png    predictions (red) and ground truth (green)
The numbers above are those of an untrained model.
MSG
