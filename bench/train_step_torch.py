"""torchvision side of bench/train_step.cpp (started by bench_train_step, not by hand).

  train_step_torch.py DIR THREADS VARIANTS SIZES [DEVICE [MODE]]
    DIR       a scratch folder holding config_<variant>.json (written by the C++ side)
    VARIANTS  comma-separated, e.g. v1,v2
    SIZES     comma-separated HxW image sizes (one batch)
    DEVICE    cpu (default) or cuda;  MODE  on cuda: "fp32" (TF32 off) or "default"

Builds each variant's torchvision model (tools/tv_models.py) with seeded random weights
and writes them converted to DIR/weights_<variant>.bin, writes the seeded images and
their digit-like target boxes to DIR/batch.bin, prints READY, then answers
  RUN <variant>  ->  T <total ms> <forward ms> <backward ms> 0 0 <loss x 1e6, rounded>
one training step each (model.train(); sum(model(images, targets).values()).backward();
gradients dropped), and QUIT. Prints "NOTORCH <reason>" when torch is missing.
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


def digit_boxes(h, w, g, count=3):
    """`count` digit-like boxes side by side (taller than wide), inside an h x w image."""
    boxes = []
    dh = h * (0.5 + 0.3 * torch.rand(1, generator=g).item())
    dw = min(dh * 0.55, w / (count + 1))
    y1 = (h - dh) * torch.rand(1, generator=g).item()
    x = (w - count * dw) * torch.rand(1, generator=g).item()
    for _ in range(count):
        boxes.append([x, y1, x + dw, y1 + dh])
        x += dw
    return torch.tensor(boxes, dtype=torch.float32)


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
    targets = [{"boxes": digit_boxes(h, w, g, 1 + i % 3),
                "labels": torch.randint(1, 11, (1 + i % 3,), generator=g)}
               for i, (h, w) in enumerate(sizes)]
    path = os.path.join(out_dir, "batch.bin")
    if not os.path.exists(path):
        items = []
        for i, (im, t) in enumerate(zip(images, targets)):
            items += [(f"image.{i}", im), (f"boxes.{i}", t["boxes"]), (f"labels.{i}", t["labels"])]
        flatfile.write(path, items)
    models = {}
    for v in variants:
        with open(os.path.join(out_dir, f"config_{v}.json")) as f:
            cfg = json.load(f)
        torch.manual_seed(1)
        models[v] = tv_models.build_model(cfg).train()
        weights = os.path.join(out_dir, f"weights_{v}.bin")
        if not os.path.exists(weights):
            convert_weights.convert_state_dict(weights, models[v].state_dict(),
                                               tv_models.full_config(cfg))
        models[v].to(device)
    images = [im.to(device) for im in images]
    targets = [{k: x.to(device) for k, x in t.items()} for t in targets]
    cuda = device == "cuda"
    print("READY", flush=True)
    while True:
        cmd = sys.stdin.readline().split()
        if not cmd or cmd[0] == "QUIT":
            break
        model = models[cmd[1]]
        if cuda:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        loss = sum(model(images, targets).values())
        if cuda:
            torch.cuda.synchronize()
        t1 = time.perf_counter()
        loss.backward()
        if cuda:
            torch.cuda.synchronize()
        t2 = time.perf_counter()
        model.zero_grad(set_to_none=True)
        f, b = (t1 - t0) * 1e3, (t2 - t1) * 1e3
        print("T", f + b, f, b, 0, 0, int(round(loss.item() * 1e6)), flush=True)


if __name__ == "__main__":
    main()
