"""Reference dump for the model-independent detection ops (torchvision 0.14):
box_iou, clip/remove_small_boxes, BoxCoder encode/decode (both weight sets, the clamp),
nms/batched_nms on tie-free scores, roi_align forward/backward (fixed and adaptive
sampling), MultiScaleRoIAlign on a 2-image batch, AnchorGenerator on padded batches,
rpn._get_top_n_idx, and GeneralizedRCNNTransform forward/targets/postprocess.
Small sizes keep it fast on a 2-core machine."""
import os
import sys

import torch
import torchvision
from torchvision.models.detection._utils import BoxCoder
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.image_list import ImageList
from torchvision.models.detection.rpn import RegionProposalNetwork
from torchvision.models.detection.transform import GeneralizedRCNNTransform
from torchvision.ops import MultiScaleRoIAlign, boxes as box_ops

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import flatfile  # noqa: E402

torch.manual_seed(0)
out = {}


def rand_boxes(n, lo=0.0, hi=100.0, wmin=2.0, wmax=40.0):
    xy = torch.rand(n, 2) * (hi - lo) + lo
    wh = torch.rand(n, 2) * (wmax - wmin) + wmin
    return torch.cat([xy, xy + wh], dim=1)


def tie_free_scores(n):
    # A permutation spread over (0, 1): every score distinct, so NMS order is unique.
    return (torch.randperm(n).float() + torch.rand(n) * 0.5 + 0.25) / n


# ---- box_iou, clip, remove_small_boxes ----
a, b = rand_boxes(13), rand_boxes(17)
a[0] = b[0]  # identical boxes: IoU exactly 1
out["iou.a"], out["iou.b"], out["iou.out"] = a, b, box_ops.box_iou(a, b)
c = rand_boxes(23, lo=-30.0, hi=120.0, wmin=0.0, wmax=12.0)
out["clip.boxes"] = c
out["clip.out"] = box_ops.clip_boxes_to_image(c, (90, 110))
out["small.keep"] = box_ops.remove_small_boxes(c, 3.0)

# ---- BoxCoder ----
for name, w in (("rpn", (1.0, 1.0, 1.0, 1.0)), ("roi", (10.0, 10.0, 5.0, 5.0))):
    coder = BoxCoder(w)
    ref, prop = rand_boxes(19), rand_boxes(19)
    out[f"coder.{name}.ref"], out[f"coder.{name}.prop"] = ref, prop
    out[f"coder.{name}.encoded"] = coder.encode_single(ref, prop)
    codes = torch.randn(19, 3 * 4) * 0.5
    codes[0, 2] = 30.0   # dw far above log(1000/16) * ww: clamped
    codes[1, 3] = 100.0  # dh likewise
    codes[2, 2] = -8.0   # large negative dw is not clamped
    out[f"coder.{name}.codes"] = codes
    out[f"coder.{name}.decoded"] = coder.decode(codes, [prop])  # (19, 3, 4)

# ---- nms / batched_nms ----
for n in (0, 1, 37, 300):
    bx = rand_boxes(n, hi=60.0, wmin=5.0, wmax=30.0)
    sc = tie_free_scores(n)
    cat = torch.randint(0, 4, (n,), dtype=torch.int64)
    out[f"nms{n}.boxes"], out[f"nms{n}.scores"], out[f"nms{n}.idxs"] = bx, sc, cat
    for thr in (0.3, 0.7):
        out[f"nms{n}.keep{int(thr * 10)}"] = torchvision.ops.nms(bx, sc, thr)
        out[f"nms{n}.bkeep{int(thr * 10)}"] = torchvision.ops.batched_nms(bx, sc, cat, thr)
# > 1000 boxes: batched_nms takes torchvision's per-class (vanilla) path.
bx, sc = rand_boxes(1200, hi=200.0, wmin=5.0, wmax=40.0), tie_free_scores(1200)
cat = torch.randint(0, 5, (1200,), dtype=torch.int64)
out["nms1200.boxes"], out["nms1200.scores"], out["nms1200.idxs"] = bx, sc, cat
out["nms1200.keep5"] = torchvision.ops.nms(bx, sc, 0.5)
out["nms1200.bkeep5"] = torchvision.ops.batched_nms(bx, sc, cat, 0.5)

# ---- roi_align forward / backward ----
x = torch.randn(2, 3, 11, 13, dtype=torch.float32, requires_grad=True)
boxes = rand_boxes(9, lo=-4.0, hi=24.0, wmin=0.5, wmax=14.0)
boxes[0] = torch.tensor([0.0, 0.0, 26.0, 22.0])     # exactly the feature map (scale 0.5)
boxes[1] = torch.tensor([-6.0, -5.0, 40.0, 30.0])   # beyond every border
boxes[2] = torch.tensor([3.0, 3.0, 3.2, 3.1])       # smaller than one cell
ids = torch.tensor([0, 1, 0, 1, 1, 0, 0, 1, 0], dtype=torch.float32)
rois = torch.cat([ids[:, None], boxes], dim=1)
out["roi.x"], out["roi.rois"] = x, rois
for tag, sr in (("sr2", 2), ("adaptive", -1)):
    y = torchvision.ops.roi_align(x, rois, output_size=(5, 4), spatial_scale=0.5,
                                  sampling_ratio=sr, aligned=False)
    dy = torch.randn_like(y)
    (gx,) = torch.autograd.grad(y, x, dy)
    out[f"roi.{tag}.y"], out[f"roi.{tag}.dy"], out[f"roi.{tag}.dx"] = y, dy, gx
# aligned=True (half-pixel offset, no 1x1 minimum): supported though Faster R-CNN uses False.
out["roi.aligned.y"] = torchvision.ops.roi_align(x, rois, output_size=(3, 3), spatial_scale=0.5,
                                                 sampling_ratio=2, aligned=True)

# ---- MultiScaleRoIAlign: 2 images (sizes after resize 100x120 and 90x128), padded 128x128 ----
feats = {}
for name, s in (("0", 32), ("1", 16), ("2", 8), ("3", 4), ("pool", 2)):
    feats[name] = torch.randn(2, 4, s, s, requires_grad=True)
    out[f"msroi.feat.{name}"] = feats[name]
image_sizes = [(100, 120), (90, 128)]
blist = []
for i, (h, w) in enumerate(image_sizes):
    bb = rand_boxes(8, hi=80.0, wmin=4.0, wmax=60.0)
    bb[0] = torch.tensor([0.0, 0.0, float(w), float(h)])  # whole image: coarsest levels
    bb[1] = torch.tensor([10.0, 10.0, 13.0, 12.0])        # tiny: level 2
    bb[2] = torch.tensor([5.0, 5.0, 117.0, 117.0])        # sqrt(area) = 112: level 3 exactly
    bb[3] = torch.tensor([0.0, 0.0, 250.0, 230.0])        # level 4 (boxes may exceed the image)
    bb[4] = torch.tensor([-100.0, -90.0, 400.0, 420.0])   # level 5
    blist.append(bb)
    out[f"msroi.boxes{i}"] = bb
pooler = MultiScaleRoIAlign(["0", "1", "2", "3"], output_size=7, sampling_ratio=2)
pooled = pooler(feats, blist, image_sizes)
out["msroi.out"] = pooled
out["msroi.dy"] = torch.randn_like(pooled)
grads = torch.autograd.grad(pooled, [feats[k] for k in ("0", "1", "2", "3")], out["msroi.dy"])
for k, g in zip(("0", "1", "2", "3"), grads):
    out[f"msroi.dfeat.{k}"] = g
out["msroi.levels"] = pooler.map_levels(blist)
out["msroi.scales"] = torch.tensor(pooler.scales, dtype=torch.float64)

# ---- AnchorGenerator ----
default = AnchorGenerator(sizes=((32,), (64,), (128,), (256,), (512,)),
                          aspect_ratios=((0.5, 1.0, 2.0),) * 5)
il = ImageList(torch.zeros(2, 3, 96, 128), [(90, 120), (96, 100)])
fmaps = [torch.zeros(2, 1, h, w) for h, w in ((24, 32), (12, 16), (6, 8), (3, 4), (2, 2))]
anchors = default(il, fmaps)
out["anchors.default"] = anchors[0]
out["anchors.default_img1"] = anchors[1]
custom = AnchorGenerator(sizes=((16, 24), (48,)), aspect_ratios=((0.5, 1.0), (1.0, 2.0, 3.0)))
il = ImageList(torch.zeros(2, 3, 100, 75), [(100, 75), (80, 70)])
fmaps = [torch.zeros(2, 1, 25, 19), torch.zeros(2, 1, 13, 10)]
out["anchors.custom"] = custom(il, fmaps)[0]

# ---- rpn._get_top_n_idx ----
levels = [30, 12, 7]
rpn = RegionProposalNetwork(default, None, 0.7, 0.3, 256, 0.5,
                            dict(training=10, testing=10), dict(training=10, testing=10), 0.7)
rpn.eval()
obj = torch.stack([tie_free_scores(sum(levels)) for _ in range(2)])
out["topn.objectness"] = obj
out["topn.idx"] = rpn._get_top_n_idx(obj, levels)

# ---- GeneralizedRCNNTransform ----
t = GeneralizedRCNNTransform(min_size=64, max_size=100, image_mean=[0.485, 0.456, 0.406],
                             image_std=[0.229, 0.224, 0.225])
imgs = [torch.rand(3, 37, 53), torch.rand(3, 45, 31)]
tboxes = [rand_boxes(3, hi=25.0, wmin=2.0, wmax=10.0), rand_boxes(2, hi=25.0, wmin=2.0, wmax=10.0)]
for i in range(2):
    out[f"transform.image{i}"] = imgs[i]
    out[f"transform.boxes{i}"] = tboxes[i]
t.eval()
il, _ = t(imgs)
out["transform.batch"] = il.tensors
out["transform.sizes"] = torch.tensor(il.image_sizes, dtype=torch.int64)
t.train()  # one min_size: torch_choice is deterministic; targets are resized
_, targets = t(imgs, [{"boxes": b.clone()} for b in tboxes])
for i in range(2):
    out[f"transform.target_boxes{i}"] = targets[i]["boxes"]
t.eval()
pred = [{"boxes": rand_boxes(4, hi=50.0)} for _ in range(2)]
for i in range(2):
    out[f"transform.pred{i}"] = pred[i]["boxes"].clone()
post = t.postprocess(pred, il.image_sizes, [(37, 53), (45, 31)])
for i in range(2):
    out[f"transform.post{i}"] = post[i]["boxes"]

flatfile.write(sys.argv[1], out, meta={"torch": torch.__version__,
                                       "torchvision": torchvision.__version__})
