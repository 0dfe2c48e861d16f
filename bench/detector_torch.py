"""torchvision side of bench/detector.cpp (started by bench_detector, not by hand).

  detector_torch.py DIR THREADS VARIANTS SIZES
    DIR       a scratch folder holding config_<variant>.json (written by the C++ side)
    VARIANTS  comma-separated, e.g. v1,v2
    SIZES     comma-separated HxW image sizes, e.g. 58x148,64x160

Builds each variant's torchvision model from its config (tools/tv_models.py) with seeded
random weights and writes them converted to DIR/weights_<variant>.bin (so the C++ side
runs the very same network, with the same proposal and detection counts), writes the
seeded images to DIR/images.bin, sets torch.set_num_threads(THREADS), prints READY, then
serves commands from stdin so that the two sides' runs interleave (the machine is shared:
both see the same load):
  RUN <variant>  ->  T <total ms> <transform> <backbone> <rpn> <roi_heads ms> <detections>
  QUIT
The forward is GeneralizedRCNN.forward's eval path spelled out stage by stage. Prints
"NOTORCH <reason>" and exits when torch/torchvision cannot be imported.
"""
import json
import os
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
    out_dir, threads = sys.argv[1], int(sys.argv[2])
    variants = sys.argv[3].split(",")
    sizes = [tuple(int(v) for v in s.split("x")) for s in sys.argv[4].split(",")]
    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(7)
    images = [torch.rand(3, h, w, generator=g) for h, w in sizes]
    flatfile.write(os.path.join(out_dir, "images.bin"),
                   [(f"image.{i}", im) for i, im in enumerate(images)])
    models = {}
    for v in variants:
        with open(os.path.join(out_dir, f"config_{v}.json")) as f:
            cfg = json.load(f)
        torch.manual_seed(1)
        models[v] = tv_models.build_model(cfg).eval()
        convert_weights.convert_state_dict(os.path.join(out_dir, f"weights_{v}.bin"),
                                           models[v].state_dict(), tv_models.full_config(cfg))
    print("READY", flush=True)
    while True:
        cmd = sys.stdin.readline().split()
        if not cmd or cmd[0] == "QUIT":
            break
        with torch.no_grad():
            stages, out = staged_forward(models[cmd[1]], images)
        print("T", sum(stages), *stages, sum(len(o["scores"]) for o in out), flush=True)


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
