"""Reference dump for conv2d and linear: torch forward outputs and the gradients dx, dw,
db for a random upstream gradient dy, in f32. Config names (<name>.x, .w, .b, .y, .dy,
.dx, .dw, .db) are read by tests/test_conv.cpp and tests/test_linear.cpp; "args" holds
stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w, groups as int64."""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import flatfile  # noqa: E402

torch.manual_seed(0)
torch.set_num_threads(1)
out = {}

# name: x shape, w shape, bias?, stride, padding, dilation, groups
CONVS = {
    "conv_s2_g2": ((2, 4, 9, 7), (6, 2, 3, 3), True, (2, 2), (1, 1), (1, 1), 2),
    "conv_3x3_p1": ((2, 3, 8, 6), (5, 3, 3, 3), True, (1, 1), (1, 1), (1, 1), 1),
    "conv_1x1": ((3, 8, 5, 5), (4, 8, 1, 1), True, (1, 1), (0, 0), (1, 1), 1),
    "conv_1x1_n1": ((1, 8, 5, 7), (4, 8, 1, 1), True, (1, 1), (0, 0), (1, 1), 1),
    "conv_asym": ((1, 4, 7, 10), (3, 4, 3, 2), False, (2, 1), (1, 2), (1, 2), 1),
    # Sizes that exercise the CPU GEMM plans: one image per GEMM on a large image, and
    # two images packed per GEMM followed by a last chunk of one.
    "conv_1x1_large": ((2, 3, 64, 70), (4, 3, 1, 1), True, (1, 1), (0, 0), (1, 1), 1),
    "conv_chunks": ((3, 2, 48, 48), (3, 2, 3, 3), True, (1, 1), (1, 1), (1, 1), 1),
}
for name, (xs, ws, has_b, stride, pad, dil, groups) in CONVS.items():
    x = torch.randn(*xs, requires_grad=True)
    w = (torch.randn(*ws) * 0.3).requires_grad_()
    b = torch.randn(ws[0], requires_grad=True) if has_b else None
    y = F.conv2d(x, w, b, stride=stride, padding=pad, dilation=dil, groups=groups)
    dy = torch.randn_like(y)
    y.backward(dy)
    out.update({f"{name}.x": x, f"{name}.w": w, f"{name}.y": y, f"{name}.dy": dy,
                f"{name}.dx": x.grad, f"{name}.dw": w.grad,
                f"{name}.args": torch.tensor([*stride, *pad, *dil, groups], dtype=torch.int64)})
    if has_b:
        out.update({f"{name}.b": b, f"{name}.db": b.grad})

# name: x shape, out features, bias?
LINEARS = {"linear": ((5, 7), 3, True), "linear_nobias": ((4, 6), 9, False)}
for name, (xs, nout, has_b) in LINEARS.items():
    x = torch.randn(*xs, requires_grad=True)
    w = torch.randn(nout, xs[1], requires_grad=True)
    b = torch.randn(nout, requires_grad=True) if has_b else None
    y = F.linear(x, w, b)
    dy = torch.randn_like(y)
    y.backward(dy)
    out.update({f"{name}.x": x, f"{name}.w": w, f"{name}.y": y, f"{name}.dy": dy,
                f"{name}.dx": x.grad, f"{name}.dw": w.grad})
    if has_b:
        out.update({f"{name}.b": b, f"{name}.db": b.grad})

flatfile.write(sys.argv[1], out, meta={"torch": torch.__version__})
