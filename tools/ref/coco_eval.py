"""Reference for the COCO bbox evaluator: pycocotools' COCOeval on many random cases.

Writes <out>.bin (flat tensor file) with, per case c:
  c.stats      (12,) f64  COCOeval.stats for all detections
  c.per_cat    (K,)  f64  AP@[.5:.95] per category (area all, maxDets 100), -1 when absent
  c.stats_thr  (12,) f64  COCOeval.stats for the detections with score >= meta["thr"]
plus "iou_thrs" (10,) and "rec_thrs" (101,) as numpy builds them, and beside it a folder
<out stem>/ holding c_gt.json and c_dt.json for the C++ test to evaluate.

The cases cover what COCOeval handles specially: images without ground truth, images and
whole sets without detections, duplicate detections, score ties (stable mergesort order),
crowd boxes, area fields that differ from w*h, all three area ranges, more than 100
detections in an image, detections of categories absent from the ground truth, a category
with no ground truth, ground-truth id 0, IoU exactly at the thresholds, unsorted image ids.
pycocotools must be importable (CI installs it from PyPI): no silent fallback.
"""
import contextlib
import copy
import io
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import flatfile  # noqa: E402

try:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    import pycocotools
except ImportError as e:
    sys.exit("tools/ref/coco_eval.py: pycocotools is not importable (%s); install it with "
             "`/usr/bin/python3 -m pip install --break-system-packages pycocotools`" % e)

THR = 0.5  # the score threshold of the stats_thr variant (checks the sweep's prefix trick)


def rand_box(rng, size_class, W=400, H=300, integer=True):
    """A box of the given area class: small < 32^2 <= medium < 96^2 <= large."""
    lo, hi = {"small": (2, 30), "medium": (33, 95), "large": (97, 180)}[size_class]
    w = rng.uniform(lo, hi)
    h = rng.uniform(lo, hi) if rng.rand() < 0.5 else w * rng.uniform(0.8, 1.2)
    x, y = rng.uniform(-2, W - w), rng.uniform(-2, H - h)
    b = [x, y, w, h]
    if integer:
        b = [float(round(v)) for v in b]
        b[2], b[3] = max(b[2], 1.0), max(b[3], 1.0)
    return b


def jitter(rng, b, amount, integer):
    x, y, w, h = b
    s = amount * max(w, h)
    nb = [x + rng.uniform(-s, s), y + rng.uniform(-s, s),
          max(0.5, w + rng.uniform(-s, s)), max(0.5, h + rng.uniform(-s, s))]
    if integer:
        nb = [float(round(v)) for v in nb]
        nb[2], nb[3] = max(nb[2], 1.0), max(nb[3], 1.0)
    return nb


def make_case(rng, opts):
    n_img = opts.get("n_img", rng.randint(1, 25))
    n_cat = opts.get("n_cat", rng.randint(1, 11))
    cat_ids = sorted(rng.choice(np.arange(1, 40), n_cat, replace=False).tolist()) \
        if opts.get("sparse_cats") else list(range(1, n_cat + 1))
    img_ids = rng.choice(np.arange(0, 100000), n_img, replace=False).tolist()
    if not opts.get("shuffle_imgs"):
        img_ids = sorted(img_ids)
    integer = opts.get("integer", rng.rand() < 0.6)
    images = [{"id": int(i), "file_name": "%d.png" % i, "width": 400, "height": 300}
              for i in img_ids]
    anns, dts = [], []
    ann_id = 0 if opts.get("gt_id0") else 1
    empty_cat = opts.get("empty_cat") and n_cat > 1
    for im in img_ids:
        n_gt = 0 if rng.rand() < opts.get("p_empty_img", 0.15) else rng.randint(1, opts.get("max_gt", 7))
        gts = []
        for _ in range(n_gt):
            cls = rng.choice(["small", "medium", "large"], p=opts.get("size_p", [0.4, 0.4, 0.2]))
            cands = cat_ids[1:] if empty_cat else cat_ids
            b = rand_box(rng, cls, integer=integer)
            area = b[2] * b[3]
            if rng.rand() < opts.get("p_area_perturb", 0.1):
                area *= rng.uniform(0.3, 3.0)  # COCO's area is a mask area, not w*h
            crowd = int(rng.rand() < opts.get("p_crowd", 0.08))
            a = {"id": ann_id, "image_id": int(im), "category_id": int(rng.choice(cands)),
                 "bbox": b, "area": float(area), "iscrowd": crowd}
            ann_id += 1
            anns.append(a)
            gts.append(a)
        if opts.get("no_dt") or rng.rand() < opts.get("p_no_dt", 0.1):
            continue
        n_extra = rng.randint(0, opts.get("max_extra", 5))
        score = (lambda: float(rng.randint(0, 11)) / 10) if opts.get("tied_scores") else \
            (lambda: float(rng.rand()))
        for g in gts:
            for _ in range(rng.randint(0, 3)):  # 0..2 detections per gt (2 = duplicate)
                cat = g["category_id"] if rng.rand() < 0.85 else int(rng.choice(cat_ids))
                amount = rng.choice([0.0, 0.05, 0.15, 0.3])
                d = {"image_id": int(im), "category_id": cat,
                     "bbox": jitter(rng, g["bbox"], amount, integer), "score": score()}
                dts.append(d)
                if rng.rand() < opts.get("p_dup", 0.1):
                    dts.append(dict(d, score=d["score"] if rng.rand() < 0.5 else score()))
        for _ in range(n_extra):
            cls = rng.choice(["small", "medium", "large"])
            dts.append({"image_id": int(im), "category_id": int(rng.choice(cat_ids)),
                        "bbox": rand_box(rng, cls, integer=integer), "score": score()})
        if opts.get("many_dt") and rng.rand() < 0.5:
            for _ in range(rng.randint(90, 130)):
                base = gts[rng.randint(len(gts))]["bbox"] if gts else rand_box(rng, "medium")
                dts.append({"image_id": int(im), "category_id": int(rng.choice(cat_ids)),
                            "bbox": jitter(rng, base, 0.2, integer), "score": score()})
    if opts.get("foreign_cat") and dts:
        for d in dts[:3]:
            dts.append(dict(d, category_id=max(cat_ids) + 7))
    if opts.get("exact_iou"):
        # IoU exactly at a threshold: 10x20 over a 10x10 gt -> 0.5; 12x10 inside 16x10 -> 0.75.
        im = int(img_ids[0])
        c = cat_ids[0]
        anns.append({"id": ann_id, "image_id": im, "category_id": c, "bbox": [50.0, 50.0, 10.0, 10.0],
                     "area": 100.0, "iscrowd": 0})
        anns.append({"id": ann_id + 1, "image_id": im, "category_id": c,
                     "bbox": [150.0, 50.0, 16.0, 10.0], "area": 160.0, "iscrowd": 0})
        dts.append({"image_id": im, "category_id": c, "bbox": [50.0, 50.0, 10.0, 20.0], "score": 0.9})
        dts.append({"image_id": im, "category_id": c, "bbox": [150.0, 50.0, 12.0, 10.0], "score": 0.8})
    if opts.get("no_gt"):
        anns = []
    cats = [{"id": int(c), "name": str(c - 1)} for c in cat_ids]
    return {"images": images, "annotations": anns, "categories": cats}, dts


def quiet():
    return contextlib.redirect_stdout(io.StringIO())


def load_res(gt, dts):
    # loadRes cannot take an empty list (it reads anns[0]); an empty result set is what it
    # would build: the gt's images and categories and no annotations.
    if not dts:
        res = COCO()
        res.dataset = {"images": list(gt.dataset["images"]),
                       "categories": copy.deepcopy(gt.dataset["categories"]), "annotations": []}
        res.createIndex()
        return res
    return gt.loadRes(copy.deepcopy(dts))


def evaluate(gt_path, dts):
    with quiet():
        gt = COCO(gt_path)
        E = COCOeval(gt, load_res(gt, dts), "bbox")
        E.evaluate()
        E.accumulate()
        E.summarize()
    prec = E.eval["precision"][:, :, :, 0, -1]  # (T, R, K) at area all, maxDets 100
    per_cat = []
    for k in range(prec.shape[2]):
        p = prec[:, :, k]
        per_cat.append(float(np.mean(p[p > -1])) if (p > -1).any() else -1.0)
    return np.array(E.stats, dtype=np.float64), np.array(per_cat, dtype=np.float64), E


def main(out):
    folder = os.path.splitext(out)[0]
    os.makedirs(folder, exist_ok=True)
    rng = np.random.RandomState(20240601)
    specs = []
    for _ in range(40):
        specs.append({})
    specs += [
        {"no_dt": True}, {"no_gt": True}, {"n_img": 1}, {"n_img": 1, "max_gt": 2},
        {"p_empty_img": 0.6}, {"p_no_dt": 0.6}, {"tied_scores": True}, {"tied_scores": True, "p_dup": 0.5},
        {"p_crowd": 0.4}, {"p_crowd": 0.4, "integer": True}, {"p_area_perturb": 0.7},
        {"many_dt": True, "n_img": 6}, {"many_dt": True, "n_img": 4, "tied_scores": True},
        {"foreign_cat": True}, {"empty_cat": True, "n_cat": 5}, {"gt_id0": True},
        {"exact_iou": True, "integer": True}, {"exact_iou": True, "n_img": 1, "p_no_dt": 1.0},
        {"shuffle_imgs": True}, {"sparse_cats": True, "n_cat": 6}, {"size_p": [1.0, 0.0, 0.0]},
        {"size_p": [0.0, 1.0, 0.0]}, {"size_p": [0.0, 0.0, 1.0]}, {"n_cat": 10, "n_img": 40},
        {"n_cat": 10, "n_img": 250, "max_extra": 12, "integer": False},
        {"n_cat": 10, "n_img": 150, "many_dt": True, "p_crowd": 0.15, "tied_scores": True},
    ]
    tensors, names = [], []
    for i, spec in enumerate(specs):
        name = "case%03d" % i
        gt_json, dts = make_case(rng, spec)
        gt_path = os.path.join(folder, name + "_gt.json")
        with open(gt_path, "w") as f:
            json.dump(gt_json, f)
        with open(os.path.join(folder, name + "_dt.json"), "w") as f:
            json.dump(dts, f)
        stats, per_cat, E = evaluate(gt_path, dts)
        stats_thr, _, _ = evaluate(gt_path, [d for d in dts if d["score"] >= THR])
        tensors += [(name + ".stats", stats), (name + ".per_cat", per_cat),
                    (name + ".stats_thr", stats_thr)]
        names.append(name)
    tensors += [("iou_thrs", np.asarray(E.params.iouThrs, dtype=np.float64)),
                ("rec_thrs", np.asarray(E.params.recThrs, dtype=np.float64))]
    flatfile.write(out, tensors, meta={"cases": names, "thr": THR, "folder": os.path.basename(folder),
                                       "pycocotools": getattr(pycocotools, "__version__", "?")})


if __name__ == "__main__":
    main(sys.argv[1])
