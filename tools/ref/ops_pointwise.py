"""Reference dump for relu: torch forward and backward on seeded random inputs."""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import flatfile  # noqa: E402

torch.manual_seed(0)
x = torch.randn(2, 3, 7, 5, requires_grad=True)
y = torch.relu(x)
dy = torch.randn_like(y)
y.backward(dy)
flatfile.write(sys.argv[1], {"relu.x": x, "relu.y": y, "relu.dy": dy, "relu.dx": x.grad},
               meta={"torch": torch.__version__})
