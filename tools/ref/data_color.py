"""Reference dump for the data pipeline's colour ops: torchvision.transforms.functional
on a uint8 (3, H, W) tensor (the tensor path, whose definitions data/aug_color.cpp follows)."""
import os
import sys

import torch
import torchvision.transforms.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import flatfile  # noqa: E402

torch.manual_seed(0)
H, W = 9, 13
# A colour gradient plus noise: every op (equalize, autocontrast) has something to do.
yy, xx = torch.meshgrid(torch.arange(H), torch.arange(W), indexing="ij")
base = torch.stack([xx * 15 + 20, yy * 20 + 30, (xx + yy) * 8 + 60]).float()
img = (base + torch.randint(-25, 26, (3, H, W))).clamp(0, 255).to(torch.uint8)

out = {"x": img}
for f in (1.3, 0.7):
    out[f"brightness_{f}"] = F.adjust_brightness(img, f)
for f in (1.4, 0.6):
    out[f"contrast_{f}"] = F.adjust_contrast(img, f)
for f in (1.5, 0.3):
    out[f"saturation_{f}"] = F.adjust_saturation(img, f)
for f in (0.1, -0.27):
    out[f"hue_{f}"] = F.adjust_hue(img, f)
for f in (1.8, 0.4):
    out[f"sharpness_{f}"] = F.adjust_sharpness(img, f)
out["grayscale"] = F.rgb_to_grayscale(img, num_output_channels=3)
out["autocontrast"] = F.autocontrast(img)
out["equalize"] = F.equalize(img)
out["solarize_128"] = F.solarize(img, 128.0)
out["invert"] = F.invert(img)
out["blur_5_1.1"] = F.gaussian_blur(img, [5, 5], [1.1, 1.1])
out["blur_3_0.5"] = F.gaussian_blur(img, [3, 3], [0.5, 0.5])
flatfile.write(sys.argv[1], out, meta={"torch": torch.__version__})
