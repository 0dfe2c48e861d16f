"""torchvision side of bench/detector.cpp (run by bench_detector, not by hand).

  detector_torch.py DIR THREADS REPS VARIANTS SIZES
    DIR       a scratch folder holding config_<variant>.json (written by the C++ side)
    VARIANTS  comma-separated, e.g. v1,v2
    SIZES     comma-separated HxW image sizes, e.g. 58x148,64x160

For each variant: builds the torchvision model from the config (tools/tv_models.py) with
seeded random weights, writes them converted to DIR/weights_<variant>.bin (so the C++
side times the very same network and therefore the same proposal/detection counts),
writes the seeded images once to DIR/images.bin, then times the eval forward with
torch.set_num_threads(THREADS): one warm-up, REPS timed runs. The forward is
GeneralizedRCNN.forward's eval path spelled out stage by stage (transform, backbone, rpn,
roi_heads + transform.postprocess) to time each. Prints one line per variant:
  TORCH <variant> <best ms> <median ms> <detections> <4 stage ms of the best run>
or "NOTORCH <reason>" when torch/torchvision cannot be imported.
"""
import json
import os
import statistics
import sys
import time

try:
    import torch
except Exception as e:  # noqa: BLE001 - any import failure means: no comparison
    print("NOTORCH", e)
    sys.exit(0)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import convert_weights  # noqa: E402
import flatfile  # noqa: E402
import tv_models  # noqa: E402


def main():
    out_dir, threads, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    variants = sys.argv[4].split(",")
    sizes = [tuple(int(v) for v in s.split("x")) for s in sys.argv[5].split(",")]
    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(7)
    images = [torch.rand(3, h, w, generator=g) for h, w in sizes]
    flatfile.write(os.path.join(out_dir, "images.bin"),
                   [(f"image.{i}", im) for i, im in enumerate(images)])
    for v in variants:
        with open(os.path.join(out_dir, f"config_{v}.json")) as f:
            cfg = json.load(f)
        torch.manual_seed(1)
        model = tv_models.build_model(cfg)
        model.eval()
        convert_weights.convert_state_dict(os.path.join(out_dir, f"weights_{v}.bin"),
                                           model.state_dict(), tv_models.full_config(cfg))
        runs = []
        with torch.no_grad():
            staged_forward(model, images)  # warm-up
            for _ in range(reps):
                stages, out = staged_forward(model, images)
                runs.append(stages)
        totals = [sum(r) for r in runs]
        best = runs[totals.index(min(totals))]
        dets = sum(len(o["scores"]) for o in out)
        print("TORCH", v, min(totals), statistics.median(totals), dets, *best, flush=True)


def staged_forward(model, images):
    """GeneralizedRCNN.forward (eval, torchvision 0.14) with a clock between stages."""
    t = [time.perf_counter()]
    original_sizes = [tuple(im.shape[-2:]) for im in images]
    il, _ = model.transform(images)
    t.append(time.perf_counter())
    features = model.backbone(il.tensors)
    t.append(time.perf_counter())
    proposals, _ = model.rpn(il, features)
    t.append(time.perf_counter())
    detections, _ = model.roi_heads(features, proposals, il.image_sizes)
    detections = model.transform.postprocess(detections, il.image_sizes, original_sizes)
    t.append(time.perf_counter())
    return [(b - a) * 1e3 for a, b in zip(t, t[1:])], detections


if __name__ == "__main__":
    main()
