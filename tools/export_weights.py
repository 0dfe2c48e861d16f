#!/usr/bin/env python3
"""Export a digit-rcnn flat weight file back to a torchvision .pth state_dict.

  export_weights.py IN.bin OUT.pth

Builds the torchvision model the file's meta["config"] describes (tools/tv_models.py),
loads the tensors with load_state_dict(strict=True) (so the .pth is known to load) and
saves that state_dict with torch.save. A file with meta "scope": "backbone" holds only
"backbone.*": the .pth is then model.backbone's state_dict (keys without "backbone.").
Load it with:
  model = tv_models.build_model(config); model.load_state_dict(torch.load(OUT.pth))
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flatfile  # noqa: E402
import tv_models  # noqa: E402


def export(src, dst):
    meta, tensors = flatfile.read(src)
    if "config" not in meta:
        raise SystemExit(f"{src}: no model config in the header (meta.config)")
    model = tv_models.build_model(meta["config"])
    scope = meta.get("scope", "model")
    if scope == "backbone":
        target, prefix = model.backbone, "backbone."
        bad = [k for k in tensors if not k.startswith(prefix)]
        if bad:
            raise SystemExit(f"{src}: backbone-scope file holds non-backbone tensors {bad[:5]}")
    else:
        target, prefix = model, ""
    sd = {k[len(prefix):]: torch.from_numpy(v) for k, v in tensors.items()}
    target.load_state_dict(sd, strict=True)
    torch.save(target.state_dict(), dst)
    return len(sd)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("src")
    p.add_argument("dst")
    a = p.parse_args()
    n = export(a.src, a.dst)
    print(f"{a.dst}: {n} tensors, loads with strict=True")


if __name__ == "__main__":
    main()
