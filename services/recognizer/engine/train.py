"""Training: seeded, CPU only, synthetic plates plus the non-held-out real crops, CTC loss."""

from __future__ import annotations

import copy
import math
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from libs.common.errors import InvalidInput
from services.recognizer.engine.dataset import (
    PlateStream,
    calibration_split_names,
    collate,
    holdout_names,
    load_regions,
)
from services.recognizer.engine.glyph_shuffle import SegmentedPlate, segment_plates
from services.recognizer.engine.model import BLANK, PlateCRNN, Rectifier
from services.recognizer.engine.weights import load_weights, save_weights

DEFAULT_STEPS = 24000  # three cycles of 8,000 (crnn-us-2.3's plan; it reached 17,520 in its 80 minutes)
DEFAULT_MINUTES = 80.0  # the bound: a slower or busier machine ends early, with the schedule governed by time
DEFAULT_REAL_SHARE = 0.25
DEFAULT_SNAPSHOTS = 3  # members: one per learning-rate cycle, combined when reading (see reader.py)
CLOCK_SLACK = 0.01  # how far the clock may run ahead of the steps (jitter, a slow first batch) before it governs
ARCH = {"width": 32, "hidden": 128}  # crnn-us-2.3; 2.2 and before: width 24, hidden 96


def learning_rate(progress: float, peak: float) -> float:
    """Linear warm-up over the first 5%, then cosine decay to 2% of the peak."""
    if progress < 0.05:
        return peak * (0.1 + 0.9 * progress / 0.05)
    cosine = 0.5 * (1 + math.cos(math.pi * (progress - 0.05) / 0.95))
    return peak * (0.02 + 0.98 * cosine)


def cycle_learning_rate(progress: float, peak: float, cycles: int) -> tuple[int, float]:
    """The cycle a point of the run falls in, and its rate: each cycle is a warm-up and cosine of its own."""
    cycle = min(int(progress * cycles), cycles - 1)
    return cycle, learning_rate(progress * cycles - cycle, peak)


def train(
    out: Path,
    *,
    data_dir: Path | None,
    steps: int = DEFAULT_STEPS,
    seed: int = 0,
    minutes: float = DEFAULT_MINUTES,
    batch_size: int = 64,
    real_share: float = DEFAULT_REAL_SHARE,
    lr: float = 3e-3,
    version: str = "crnn-dev",
    init: Path | None = None,
    snapshots: int = DEFAULT_SNAPSHOTS,
    arch: dict[str, int] | None = None,
    hold_calibration_split: bool = True,
    rectify_only: bool = False,
    glyph_shuffle: float = 0.0,
    highway_faces: float = 0.0,
) -> dict[str, Any]:
    """Train from scratch and write the weights; the schedule shortens itself if `minutes` would run out.

    The schedule is `snapshots` warm-up-and-cosine cycles. The network at the end of each cycle is kept as
    an ensemble member: a snapshot ensemble, whose members differ in their misreads at no extra training cost.
    The calibration split stays out of training unless `hold_calibration_split` is false (how `crnn-us-2.2`
    was trained), so `calibrate` can fit the confidence on real plates the members never saw.

    `rectify_only` trains a Rectifier in front of each member of `init` and nothing else: cycle k trains
    member k's, with that member's reader frozen (its weights and batch-norm statistics as they were), so the
    readers stay exactly what was measured and only the crop they are given can change.

    `glyph_shuffle` is the share of the real draws that are training plates with their glyphs re-ordered
    (`glyph_shuffle.py`), cut where `init`'s lead member reads them; 0, the default, changes nothing.
    `highway_faces` is the share of the synthetic plates drawn in a Highway Gothic face (`synth.HIGHWAY_FACES`);
    0, the default, changes nothing either.
    """
    _check_arguments(
        steps=steps, snapshots=snapshots, minutes=minutes, batch_size=batch_size, lr=lr, real_share=real_share
    )
    if not 0.0 <= glyph_shuffle <= 1.0:  # NaN fails too
        raise InvalidInput(
            f"glyph_shuffle is a share of the real crops, 0 to 1, not {glyph_shuffle}", code="invalid_arguments"
        )
    if not 0.0 <= highway_faces <= 1.0:  # NaN fails too
        raise InvalidInput(
            f"highway_faces is a share of the synthetic plates, 0 to 1, not {highway_faces}", code="invalid_arguments"
        )
    if glyph_shuffle > 0 and not init:  # the cells are cut where a trained model reads the characters
        raise InvalidInput(
            "glyph_shuffle cuts plates where init's lead reads them: give init", code="invalid_arguments"
        )
    if rectify_only and not init:  # refused before the real crops are loaded
        raise InvalidInput("rectify_only trains rectifiers for existing weights: give init", code="invalid_arguments")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    # the loader worker renders on the other core; two threads here trained slower (7.0 against 9.8 steps/s)
    torch.set_num_threads(1)
    excluded = holdout_names() | (calibration_split_names() if hold_calibration_split else set())
    regions = load_regions(data_dir, exclude=excluded) if data_dir else []
    arch = dict(arch or ARCH)
    segmented: list[SegmentedPlate] = []
    frozen: list[PlateCRNN] = []
    resumed_from: dict[str, Any] | None = None
    if init:
        initial, meta = load_weights(init)
        # a name says little ("crnn.pt"); the digest over its tensors says which weights this run grew from
        resumed_from = {"version": meta.get("version"), "digest": meta.get("digest")}
        if hold_calibration_split and meta.get("notes", {}).get("calibration_split_held_out") is not True:
            # those weights learnt the calibration split's plates: calibrating on them would flatter the model
            raise InvalidInput(
                f"{init} trained on the calibration split; train from scratch or from weights that held it out",
                code="recognizer_init_saw_calibration_split",
            )
        if glyph_shuffle > 0:  # cut by the lead (the last member) before it trains on
            segmented = segment_plates(data_dir, initial[-1]) if data_dir else []
            if not segmented:  # a share of nothing would silently train the old recipe
                raise InvalidInput(
                    "glyph_shuffle found no training plate the init's lead reads exactly", code="invalid_arguments"
                )
        model, arch = initial[-1].train(), dict(meta["arch"])
        if rectify_only:
            if snapshots != len(initial):
                raise InvalidInput(
                    f"rectify_only trains one rectifier a member: snapshots must be {len(initial)}",
                    code="invalid_arguments",
                )
            frozen, arch = [with_rectifier(member) for member in initial], {**arch, "rectifier": 1}
            model = frozen[0]
    else:
        model = PlateCRNN(**arch)
    # the loader's seeds are drawn when it is first iterated, so building it here draws what it drew before
    stream = PlateStream(
        regions,
        seed=seed,
        real_share=real_share,
        shuffle_share=glyph_shuffle,
        segmented=segmented,
        highway_share=highway_faces,
    )
    loader = DataLoader(stream, batch_size=batch_size, num_workers=1, collate_fn=collate)
    # channels-last convolutions train about a third faster on this CPU (oneDNN), so more steps fit the budget
    model = model.to(memory_format=torch.channels_last)
    optimizer = _optimizer(model, lr, rectify_only)
    ctc = nn.CTCLoss(blank=BLANK, zero_infinity=True)
    started: float | None = None
    done, smoothed, progress, clock_governed = 0, 0.0, 0.0, False
    members: list[PlateCRNN] = []
    member_notes: list[dict[str, Any]] = []
    last_batch: torch.Tensor | None = None
    _train_mode(model, rectify_only)
    bar = tqdm(zip(range(steps), loader, strict=False), total=steps, desc="train", unit="batch")
    for step, (images, targets, lengths) in bar:
        # the clock starts with the first batch: the loader's start-up is not training time
        started = time.monotonic() if started is None else started
        # progress runs on steps, or on the clock once a busy machine falls clearly behind the time budget,
        # so the learning rate always anneals to the end; bit-for-bit reproducible only if the clock never led
        by_clock = (time.monotonic() - started) / (minutes * 60)
        clock_governed |= by_clock > step / steps + CLOCK_SLACK
        progress = max(by_clock, step / steps) if clock_governed else step / steps
        if progress >= 1.0:
            tqdm.write(f"time budget of {minutes} min governed: stopped after {step}/{steps} steps")
            break
        cycle, rate = cycle_learning_rate(progress, lr, snapshots)
        if cycle > len(members):  # the previous cycle has annealed: keep its network as a member
            members.append(model.eval() if rectify_only else copy.deepcopy(model).eval())
            member_notes.append({"steps": step, "loss": round(smoothed, 4), **_map_spread(model, images)})
            if rectify_only:  # the next member's rectifier, from the identity, with a fresh optimizer
                model = frozen[len(members)].to(memory_format=torch.channels_last)
                optimizer = _optimizer(model, lr, rectify_only)
                _train_mode(model, rectify_only)
        for group in optimizer.param_groups:
            group["lr"] = rate
        images = last_batch = images.contiguous(memory_format=torch.channels_last)
        log_probs = model(images).permute(1, 0, 2)  # CTC wants (T, N, classes)
        frames = torch.full((images.shape[0],), log_probs.shape[0], dtype=torch.long)
        loss = ctc(log_probs, targets, frames, lengths)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 5.0)
        optimizer.step()
        smoothed = loss.item() if step == 0 else 0.98 * smoothed + 0.02 * loss.item()
        bar.set_postfix(loss=f"{smoothed:.3f}")
        done = step + 1
    elapsed = time.monotonic() - started if started is not None else 0.0
    members.append(model.eval())
    member_notes.append({"steps": done, "loss": round(smoothed, 4), **_map_spread(model, last_batch)})
    # a run too short for a cycle a member still keeps every member it was given, rectifier untrained (identity)
    for untrained in frozen[len(members) :]:
        members.append(untrained.eval())
        member_notes.append({"steps": done, "loss": None, "rectifier": "untrained"})
    notes = {
        "steps": done,
        "planned_steps": steps,
        "seed": seed,
        "batch_size": batch_size,
        "real_share": real_share,
        "real_train_crops": len(regions),
        "calibration_split_held_out": hold_calibration_split,
        "init": str(init.name) if init else None,
        "init_weights": resumed_from,
        "rectify_only": rectify_only,
        "glyph_shuffle": glyph_shuffle,
        "glyph_shuffle_plates": len(segmented),
        "highway_faces": highway_faces,
        "train_minutes": round(elapsed / 60, 1),
        "schedule_governed_by": "time" if clock_governed else "steps",
        "final_loss": round(smoothed, 4),
        "members": member_notes,
    }
    save_weights(out, members, version=version, arch=arch, notes=notes)
    return notes


def _check_arguments(
    *, steps: int, snapshots: int, minutes: float, batch_size: int, lr: float, real_share: float
) -> None:
    """Refuse a run that could only write weights nobody trained (0 steps, 0 cycles) or crash midway, before
    anything is loaded: a weights file is what the service reads plates with."""
    if steps < 1 or batch_size < 1:
        raise InvalidInput(
            f"steps and batch size are at least 1, not {steps} and {batch_size}", code="invalid_arguments"
        )
    if snapshots < 1:  # more snapshots than steps is a short trial: it keeps the members it reaches
        raise InvalidInput(f"snapshots are at least 1, not {snapshots}", code="invalid_arguments")
    if not 0.0 <= real_share <= 1.0:  # NaN fails too
        raise InvalidInput(f"real_share is a share of each batch, 0 to 1, not {real_share}", code="invalid_arguments")
    if not (math.isfinite(minutes) and minutes > 0 and math.isfinite(lr) and lr > 0):
        raise InvalidInput(
            f"minutes and the learning rate are positive, not {minutes} and {lr}", code="invalid_arguments"
        )


def with_rectifier(member: PlateCRNN) -> PlateCRNN:
    """The member with an identity Rectifier in front and its reader frozen: the same readings until trained."""
    if member.rectifier is not None:
        raise InvalidInput("these weights already have a rectifier", code="invalid_arguments")
    member.rectifier = Rectifier()
    for name, parameter in member.named_parameters():
        parameter.requires_grad_(name.startswith("rectifier."))
    return member


def _map_spread(model: PlateCRNN, images: torch.Tensor | None) -> dict[str, float]:
    """How far a member's rectifier map varies across a training batch (the largest standard deviation of its
    six numbers): near 0 means it learnt one fixed re-cut, not one for each crop (what runs K and L's did)."""
    if model.rectifier is None or images is None or images.shape[0] < 2:
        return {}
    with torch.no_grad():
        theta = model.rectifier.maps(images)
    return {"map_spread": round(float(theta.std(0).max()), 6)}


def _optimizer(model: PlateCRNN, lr: float, rectify_only: bool) -> torch.optim.Optimizer:
    parameters = model.rectifier.parameters() if rectify_only and model.rectifier else model.parameters()
    return torch.optim.AdamW(parameters, lr=lr, weight_decay=1e-4)


def _train_mode(model: PlateCRNN, rectify_only: bool) -> None:
    """Train mode, but a frozen reader keeps eval mode: its batch norm must go on using its own statistics."""
    if rectify_only and model.rectifier is not None:
        model.eval()
        model.rectifier.train()
    else:
        model.train()
