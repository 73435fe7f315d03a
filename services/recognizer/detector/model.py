"""The plate-finding network: a light strided backbone, a small top-down merge, CenterNet heads at stride 4.

A grey frame letterboxed to 640x360 goes in; out come, on a 160x90 grid, a plate-centre heatmap (logits),
the centre's sub-cell offset and the four plate corners relative to the centre. The box is the corners'
bounding box, so one head serves both an axis box and a tilted plate's polygon.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.fusion import fuse_conv_bn_eval

STRIDE = 4
INPUT_WIDTH = 640
INPUT_HEIGHT = 360
HEATMAP, OFFSET, CORNERS = 1, 2, 8  # output channels per head
OUTPUTS = HEATMAP + OFFSET + CORNERS
# sigmoid(-2.19) = 0.1: CenterNet's start, so the focal loss on a sea of background does not swamp training
HEATMAP_PRIOR = -2.19


def _block(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


class PlateCenterNet(nn.Module):
    """Grey (N,1,H,W) in (H, W multiples of 32), (N, 11, H/4, W/4) out: heatmap logit, offset, corners."""

    def __init__(self, width: int = 16) -> None:
        super().__init__()
        w = width
        self.stem = nn.Sequential(_block(1, w // 2, 2), _block(w // 2, w, 2), _block(w, w))  # stride 4
        self.down8 = nn.Sequential(_block(w, 2 * w, 2), _block(2 * w, 2 * w))
        self.down16 = nn.Sequential(_block(2 * w, 4 * w, 2), _block(4 * w, 4 * w))
        # stride 32 only for context (a bumper, a car's rear): plates up to ~125 px at this scale
        self.down32 = nn.Sequential(_block(4 * w, 4 * w, 2), _block(4 * w, 4 * w))
        self.lateral16 = nn.Conv2d(4 * w, 4 * w, 1)
        self.merge16 = _block(4 * w, 2 * w)
        self.merge8 = _block(2 * w, w)
        self.merge4 = _block(w, w)
        self.head = nn.Sequential(_block(w, w), nn.Conv2d(w, OUTPUTS, 1))
        with torch.no_grad():
            last = self.head[-1]
            assert isinstance(last, nn.Conv2d) and last.bias is not None
            last.bias.zero_()
            last.bias[0] = HEATMAP_PRIOR

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s4 = self.stem(x)
        s8 = self.down8(s4)
        s16 = self.down16(s8)
        s32 = self.down32(s16)
        top = self.lateral16(s16) + F.interpolate(s32, size=s16.shape[-2:], mode="nearest")
        top = self.merge16(top)
        top = s8 + F.interpolate(top, size=s8.shape[-2:], mode="nearest")
        top = self.merge8(top)
        top = s4 + F.interpolate(top, size=s4.shape[-2:], mode="nearest")
        return self.head(self.merge4(top))  # type: ignore[no-any-return]


def fuse_for_inference(model: PlateCenterNet) -> nn.Module:
    """Fold each batch norm into its convolution: the same outputs with fewer passes over memory."""
    model = model.eval()
    for module in model.modules():
        if isinstance(module, nn.Sequential):
            for i in range(len(module) - 1):
                conv, norm = module[i], module[i + 1]
                if isinstance(conv, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d):
                    module[i] = fuse_conv_bn_eval(conv, norm)
                    module[i + 1] = nn.Identity()
    return model
