"""Training: seeded, CPU only, real photo patches and generated scenes, CenterNet's focal and L1 losses."""

from __future__ import annotations

import math
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader
from tqdm import tqdm

from services.recognizer.detector.dataset import PATCH, SceneStream, collate, load_photos
from services.recognizer.detector.model import PlateCenterNet
from services.recognizer.detector.weights import load_weights, save_weights

DEFAULT_STEPS = 12000  # 2-4 steps/s on this shared machine: the 45 minutes end most runs first
DEFAULT_MINUTES = 45.0
ARCH = {"width": 16}
OFFSET_WEIGHT = 1.0
CORNER_WEIGHT = 2.0  # corners carry the box and the crop the reader sees: worth more than the sub-cell offset
SAVE_EVERY_S = 600.0  # a long run writes its weights every ten minutes, so a crash loses little


def learning_rate(progress: float, peak: float) -> float:
    """Linear warm-up over the first 3%, then cosine decay to 2% of the peak."""
    if progress < 0.03:
        return peak * (0.1 + 0.9 * progress / 0.03)
    return peak * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * (progress - 0.03) / 0.97)))


def focal_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss over the heatmap, per plate centre."""
    positive = target.eq(1).float()
    log_p, log_not_p = F.logsigmoid(logits), F.logsigmoid(-logits)
    p = log_p.exp()
    pos = positive * (1 - p) ** 2 * log_p
    neg = (1 - positive) * (1 - target) ** 4 * p**2 * log_not_p
    return -(pos.sum() + neg.sum()) / positive.sum().clamp(min=1.0)


def detection_loss(output: torch.Tensor, targets: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
    """Focal loss on the heatmap plus L1 on the offset and corners at the plate centres."""
    heat = focal_loss(output[:, :1], targets["heatmap"])
    mask = targets["mask"][:, None]
    count = mask.sum().clamp(min=1.0)
    offset = (F.l1_loss(output[:, 1:3], targets["offset"], reduction="none") * mask).sum() / count
    corners = (F.smooth_l1_loss(output[:, 3:], targets["corners"], reduction="none", beta=0.05) * mask).sum() / count
    total = heat + OFFSET_WEIGHT * offset + CORNER_WEIGHT * corners
    return total, {"heat": heat.item(), "offset": offset.item(), "corners": corners.item()}


def train(
    out: Path,
    *,
    data_dir: Path | None,
    steps: int = DEFAULT_STEPS,
    seed: int = 0,
    minutes: float = DEFAULT_MINUTES,
    batch_size: int = 16,
    lr: float = 2e-3,
    version: str = "centernet-dev",
    init: Path | None = None,
    arch: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Train (from scratch, or on from `init`) and write the weights; the schedule runs on the clock if slower."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    # one thread here and one loader worker rendering scenes: the machine has two cores (as the reader trains)
    torch.set_num_threads(1)
    photos = load_photos(data_dir) if data_dir else []
    if init:
        model, meta = load_weights(init)
        arch = dict(meta["arch"])
    else:
        arch = dict(arch or ARCH)
        model = PlateCenterNet(**arch)
    model = model.train().to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    loader = DataLoader(SceneStream(photos, seed=seed), batch_size=batch_size, num_workers=1, collate_fn=collate)
    started: float | None = None
    last_save = time.monotonic()
    done, smoothed, clock_governed = 0, 0.0, False
    parts: dict[str, float] = {}

    def notes() -> dict[str, Any]:
        elapsed = time.monotonic() - started if started is not None else 0.0
        return {
            "steps": done,
            "planned_steps": steps,
            "seed": seed,
            "batch_size": batch_size,
            "patch": list(PATCH),
            "lr": lr,
            "real_train_photos": len(photos),
            "init": init.name if init else None,
            "train_minutes": round(elapsed / 60, 1),
            "schedule_governed_by": "time" if clock_governed else "steps",
            "final_loss": round(smoothed, 4),
            "final_parts": {k: round(v, 4) for k, v in parts.items()},
        }

    bar = tqdm(zip(range(steps), loader, strict=False), total=steps, desc="train-detector", unit="batch")
    for step, (images, targets) in bar:
        started = time.monotonic() if started is None else started
        by_clock = (time.monotonic() - started) / (minutes * 60)
        clock_governed |= by_clock > step / steps + 0.01
        progress = max(by_clock, step / steps) if clock_governed else step / steps
        if progress >= 1.0:
            tqdm.write(f"time budget of {minutes} min governed: stopped after {step}/{steps} steps")
            break
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(progress, lr)
        output = model(images.contiguous(memory_format=torch.channels_last))
        loss, step_parts = detection_loss(output, targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        smoothed = loss.item() if step == 0 else 0.98 * smoothed + 0.02 * loss.item()
        parts = step_parts if step == 0 else {k: 0.98 * parts[k] + 0.02 * v for k, v in step_parts.items()}
        bar.set_postfix(loss=f"{smoothed:.3f}", **{k: f"{v:.3f}" for k, v in parts.items()})
        done = step + 1
        if time.monotonic() - last_save > SAVE_EVERY_S:
            save_weights(out, model.eval(), version=version, arch=arch, notes=notes())
            model.train()
            last_save = time.monotonic()
    final = notes()
    save_weights(out, model.eval(), version=version, arch=arch, notes=final)
    return final
