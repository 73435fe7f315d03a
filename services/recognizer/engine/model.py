"""The plate-reading network: a small convolutional feature extractor, a BiGRU and a CTC head."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
BLANK = 0  # CTC blank is class 0; character i of ALPHABET is class i + 1
NUM_CLASSES = len(ALPHABET) + 1
INPUT_HEIGHT = 32
INPUT_WIDTH = 128
MAX_PLATE_LEN = 10


def fold_plate(plate: str) -> str:
    """Write O as zero, as the labels do: many US states print one glyph for both."""
    return plate.upper().replace("O", "0")


def encode_plate(plate: str) -> list[int]:
    """Class indices of a plate's characters (blank excluded)."""
    return [ALPHABET.index(ch) + 1 for ch in fold_plate(plate)]


def plate_array(image: Image.Image) -> np.ndarray:
    """Grey crop resized to the input size and standardised per image, so night and day look alike."""
    pixels = np.asarray(_grey(image), dtype=np.float32)
    return (pixels - pixels.mean()) / (pixels.std() + 8.0)


def plate_batch(images: list[Image.Image]) -> torch.Tensor:
    """Stack crops into the (N, 1, H, W) tensor the network reads: `plate_array` of each, the same numbers,
    standardised as one array (numpy's sums over each image run in the same order as over one image)."""
    pixels = np.stack([np.asarray(_grey(im)) for im in images]).astype(np.float32)
    pixels -= pixels.mean(axis=(1, 2), keepdims=True)
    pixels /= pixels.std(axis=(1, 2), keepdims=True) + 8.0
    return torch.from_numpy(pixels[:, None])


def _grey(image: Image.Image) -> Image.Image:
    return image.convert("L").resize((INPUT_WIDTH, INPUT_HEIGHT), Image.Resampling.BILINEAR)


def _conv(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class Rectifier(nn.Module):
    """A spatial transformer (Jaderberg et al., 2015): a small network reads the crop and resamples it by an
    affine map, so a loose, shifted or tilted box reaches the reader closer to the plate it was trained on.

    It starts as the identity (last layer zero, bias the identity map), so a reader given one reads as before
    until the rectifier is trained; `padding_mode="border"` repeats the crop's edge where the map reaches out.
    It looks at the crop shrunk to 8x32 (the plate's outline, not its characters) and pools by PairMaxPool:
    about 3.5 ms for a batch of 64 on one thread (the reader behind it about 100), where MaxPool2d and
    `affine_grid` took 25."""

    base: torch.Tensor  # a buffer: each output pixel's centre, (H*W, 3)

    def __init__(self) -> None:
        super().__init__()
        self.locate = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1),
            nn.ReLU(inplace=True),
            PairMaxPool(columns=True),  # 4x16
            nn.Conv2d(8, 16, 3, padding=1),
            nn.ReLU(inplace=True),
            PairMaxPool(columns=True),  # 2x8
            nn.Flatten(),
            nn.Linear(16 * 2 * 8, 32),
            nn.ReLU(inplace=True),
            nn.Linear(32, 6),
        )
        last = self.locate[-1]
        assert isinstance(last, nn.Linear)
        nn.init.zeros_(last.weight)
        with torch.no_grad():
            last.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]))
        # each output pixel's centre in [-1, 1] (align_corners=False), with a 1 for the map's translation
        ys = (torch.arange(INPUT_HEIGHT) * 2 + 1) / INPUT_HEIGHT - 1
        xs = (torch.arange(INPUT_WIDTH) * 2 + 1) / INPUT_WIDTH - 1
        gy, gx = torch.meshgrid(ys, xs, indexing="ij")
        base = torch.stack([gx, gy, torch.ones_like(gx)], dim=-1).reshape(-1, 3)
        self.register_buffer("base", base, persistent=False)

    def maps(self, x: torch.Tensor) -> torch.Tensor:
        """Each crop's affine map, (N, 2, 3), in `affine_grid`'s normalised coordinates."""
        return self.locate(nn.functional.avg_pool2d(x, 4)).view(x.shape[0], 2, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The crop resampled by its own affine map, the same size."""
        if tuple(x.shape[1:]) != (1, INPUT_HEIGHT, INPUT_WIDTH):
            raise ValueError(f"a rectifier reads (N, 1, {INPUT_HEIGHT}, {INPUT_WIDTH}) crops, not {tuple(x.shape)}")
        n = x.shape[0]
        if n == 0:
            return x
        theta = self.maps(x)
        # one (pixels x 3) @ (3 x 2n) product, made contiguous: a batched matmul of 3x2 maps took 6 ms a batch,
        # and grid_sample on a strided grid three times as long as on a contiguous one
        points = self.base @ theta.permute(2, 0, 1).reshape(3, 2 * n)
        grid = points.view(INPUT_HEIGHT * INPUT_WIDTH, n, 2).transpose(0, 1).reshape(n, INPUT_HEIGHT, INPUT_WIDTH, 2)
        return nn.functional.grid_sample(x, grid, padding_mode="border", align_corners=False)


class PlateCRNN(nn.Module):
    """CRNN: 32x128 grey crop in, (T=32, N, classes) log-probabilities out; `rectifier=1` puts a Rectifier
    in front of it (an architecture key of the weights file: 0, or absent in files before it, is none)."""

    # the convolutions' arithmetic: float32 always in training; `fuse_for_inference` may set bfloat16
    feature_dtype: torch.dtype = torch.float32

    def __init__(self, width: int = 24, hidden: int = 96, rectifier: int = 0) -> None:
        super().__init__()
        if rectifier not in (0, 1):
            raise ValueError(f"rectifier is 0 or 1, not {rectifier!r}")
        self.rectifier = Rectifier() if rectifier else None
        w = width
        self.features = nn.Sequential(
            *_conv(1, w // 2),
            nn.MaxPool2d(2),  # 16x64
            *_conv(w // 2, w),
            nn.MaxPool2d(2),  # 8x32
            *_conv(w, 2 * w),
            *_conv(2 * w, 2 * w),
            nn.MaxPool2d((2, 1)),  # 4x32
            *_conv(2 * w, 4 * w),
            nn.MaxPool2d((2, 1)),  # 2x32
        )
        self.project = nn.Linear(8 * w, hidden)
        self.rnn = nn.GRU(hidden, hidden, bidirectional=True, batch_first=True)
        self.classify = nn.Linear(2 * hidden, NUM_CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Log-probabilities shaped (N, T, classes)."""
        if self.rectifier is not None:
            x = self.rectifier(x)
        f = self.features(x.to(self.feature_dtype)).float()
        n, c, h, t = f.shape
        seq = f.permute(0, 3, 1, 2).reshape(n, t, c * h)
        seq = torch.relu(self.project(seq))
        seq, _ = self.rnn(seq)
        return self.classify(seq).log_softmax(-1)


class PairMaxPool(nn.Module):
    """2x2 or 2x1 max-pooling as element-wise maxima of the even and odd rows (and columns): the same numbers
    as `nn.MaxPool2d`, which on the CPU also writes the index of every maximum, at up to 3x the time on
    channels-last maps."""

    def __init__(self, columns: bool) -> None:
        super().__init__()
        self.columns = columns

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Half the rows (and columns); the map's sides are even (the input is 32 x 128)."""
        x = torch.maximum(x[:, :, 0::2], x[:, :, 1::2])
        return torch.maximum(x[..., 0::2], x[..., 1::2]) if self.columns else x


def _pair_pool(layer: nn.Module) -> PairMaxPool | None:
    """The PairMaxPool that pools as this layer does, if it is a plain 2x2 or 2x1 MaxPool2d."""
    if not isinstance(layer, nn.MaxPool2d) or layer.padding not in (0, (0, 0)) or layer.ceil_mode:
        return None
    kernel = nn.modules.utils._pair(layer.kernel_size)
    stride = nn.modules.utils._pair(layer.stride)
    if kernel != stride or kernel not in ((2, 2), (2, 1)) or layer.dilation not in (1, (1, 1)):
        return None
    return PairMaxPool(columns=kernel == (2, 2))


def fuse_for_inference(model: PlateCRNN, *, bfloat16: bool = False) -> PlateCRNN:
    """Fold each BatchNorm into its conv and switch to channels-last: about twice as fast on CPU.

    A ReLU followed by a max-pool is applied after it instead, on a half or a quarter of the numbers (the
    maximum of rectified numbers is the rectified maximum), and the pool is a PairMaxPool: the features are
    the same numbers, about 10% sooner (a batch of 64, one thread).

    `bfloat16` runs the convolutions (about 70% of a pass) in bfloat16, twice as fast where the CPU has it in
    hardware (40 -> 19 ms a batch of 64 on an AMD EPYC with AVX-512 BF16); the rectifier, the GRU and the head
    stay float32, as the sequence model's small products gain little and its recurrence would compound the
    rounding."""
    model.eval()
    layers = list(model.features)
    fused: list[nn.Module] = []
    while layers:
        layer = layers.pop(0)
        norm = layers[0] if layers else None
        if isinstance(layer, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d):
            layer = fuse_conv_bn_eval(layer, norm)
            layers.pop(0)
        pool = _pair_pool(layers[0]) if isinstance(layer, nn.ReLU) and layers else None
        if pool is not None:
            layers.pop(0)
            fused.append(pool)
        fused.append(layer)
    model.features = nn.Sequential(*fused)
    if bfloat16:
        model.features.to(torch.bfloat16)
        model.feature_dtype = torch.bfloat16
    return model.to(memory_format=torch.channels_last)
