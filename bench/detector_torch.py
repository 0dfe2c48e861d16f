"""torchvision side of bench/detector.cpp (started by bench_detector, not by hand).

  detector_torch.py DIR THREADS VARIANTS SIZES [DEVICE [MODE]]
    DIR       a scratch folder holding config_<variant>.json (written by the C++ side)
    VARIANTS  comma-separated, e.g. v1,v2
    SIZES     comma-separated HxW image sizes, e.g. 58x148,64x160
    DEVICE    cpu (default) or cuda
    MODE      on cuda: "fp32" turns TF32 off (cuDNN and cuBLAS), "default" keeps torch's
              defaults (TF32 convolutions)

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
    device = sys.argv[5] if len(sys.argv) > 5 else "cpu"
    mode = sys.argv[6] if len(sys.argv) > 6 else "default"
    if device == "cuda" and not torch.cuda.is_available():
        print("NOTORCH torch has no CUDA device", flush=True)
        return
    if mode == "fp32":
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
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
        weights = os.path.join(out_dir, f"weights_{v}.bin")
        if not os.path.exists(weights):  # a second (CUDA) peer reuses the first one's
            convert_weights.convert_state_dict(weights, models[v].state_dict(),
                                               tv_models.full_config(cfg))
        models[v].to(device)
    images = [im.to(device) for im in images]
    print("READY", flush=True)
    while True:
        cmd = sys.stdin.readline().split()
        if not cmd or cmd[0] == "QUIT":
            break
        with torch.no_grad():
            stages, out = staged_forward(models[cmd[1]], images, device == "cuda")
        print("T", sum(stages), *stages, sum(len(o["scores"]) for o in out), flush=True)


def staged_forward(model, images, cuda=False):
    """GeneralizedRCNN.forward (eval, torchvision 0.14) with a clock between stages (on
    CUDA only the total is synchronized, as on our side)."""
    if cuda:
        torch.cuda.synchronize()
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
    if cuda:
        torch.cuda.synchronize()
    t.append(time.perf_counter())
    return [(b - a) * 1e3 for a, b in zip(t, t[1:])], detections


if __name__ == "__main__":
    main()
