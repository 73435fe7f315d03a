"""The reader's fast path reads exactly what the plain path reads, so speed work can never change a reading.

The plain path is the reader as it was before the speed work (issue 28): each crop standardised alone
(`plate_array`), the networks with BatchNorm folded but otherwise as trained (ReLU, then `nn.MaxPool2d`), each
plate decoded alone (`decode`), and the lead's unsure plates re-read by the other members as one batch.
"""

from __future__ import annotations

import copy
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from libs.common.contracts.reads import Box
from services.recognizer.engine.augment import synthetic_crop
from services.recognizer.engine.crop import crop_plate
from services.recognizer.engine.dataset import holdout_names, read_labels
from services.recognizer.engine.decoding import (
    MIN_ALTERNATIVE,
    _mean,
    batch_slots,
    combine_members,
    decode,
    decode_batch,
    greedy_slots,
)
from services.recognizer.engine.model import NUM_CLASSES, PairMaxPool, PlateCRNN, plate_array, plate_batch
from services.recognizer.engine.reader import PlateReader, Reading
from services.recognizer.engine.synth import render_plate
from services.recognizer.engine.weights import load_weights


def plain_network(model: PlateCRNN) -> PlateCRNN:
    """The network with each BatchNorm folded into its conv (as the shipped reader always did), nothing else."""
    plain = copy.deepcopy(model).eval()
    layers: list[nn.Module] = []
    for layer in plain.features:
        if isinstance(layer, nn.BatchNorm2d):
            layers[-1] = fuse_conv_bn_eval(layers[-1], layer)  # type: ignore[arg-type]
        else:
            layers.append(layer)
    plain.features = nn.Sequential(*layers)
    return plain.to(memory_format=torch.channels_last)


def plain_read(reader: PlateReader, networks: list[PlateCRNN], images: list[Image.Image]) -> list[Reading]:
    """Read a batch the plain way, with the reader's own calibration."""
    *others, lead = networks
    batch = torch.from_numpy(np.stack([plate_array(im) for im in images])[:, None])
    batch = batch.contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        decoded = [[decode(probs, top_n=reader.top_n)] for probs in lead(batch).exp().numpy()]
        unsure = [i for i, (d,) in enumerate(decoded) if d.confidence < reader.consult_below]
        if others and unsure:
            second = batch[unsure].contiguous(memory_format=torch.channels_last)
            for model in others:
                for i, probs in zip(unsure, model(second).exp().numpy(), strict=True):
                    decoded[i].append(decode(probs, top_n=reader.top_n))
    return [reader._reading(combine_members(members, top_n=reader.top_n)) for members in decoded]


@pytest.fixture(scope="module")
def plain_networks() -> list[PlateCRNN]:
    models, _ = load_weights()
    return [plain_network(model) for model in models]


def synthetic_crops(count: int, seed: int) -> list[Image.Image]:
    rng = random.Random(seed)
    return [synthetic_crop(rng, render_plate(rng).image).convert("RGB") for _ in range(count)]


def assert_same_readings(fast: list[Reading], plain: list[Reading]) -> None:
    assert len(fast) == len(plain)
    for i, (a, b) in enumerate(zip(fast, plain, strict=True)):
        # every published field (plate, confidences, candidates, sure), then what the calibration read
        assert a == b, i
        assert (a.raw_confidence, a.char_scores, a.evidence) == (b.raw_confidence, b.char_scores, b.evidence), i


class TestFastReadsAsPlain:
    def test_synthetic_crops_in_batches_of_every_size_the_service_sends(
        self, reader: PlateReader, plain_networks: list[PlateCRNN]
    ) -> None:
        crops = synthetic_crops(96, seed=28)
        for size in (1, 5, 64, 96):
            batch = crops[:size]
            assert_same_readings(reader.read_batch(batch), plain_read(reader, plain_networks, batch))
        lead = PlateReader.load(members=[len(plain_networks) - 1], calibrated=False).read_batch(crops)
        assert any(r.confidence < reader.consult_below for r in lead), "no crop made the other members read"

    def test_held_out_real_crops(self, reader: PlateReader, plain_networks: list[PlateCRNN], plates_dir: Path) -> None:
        held_out = holdout_names()
        rows = [r for r in read_labels(plates_dir / "labels.tsv") if r.image in held_out]
        crops = [
            crop_plate(
                (plates_dir / "images" / r.image).read_bytes(),
                box=Box(x=r.box[0], y=r.box[1], width=r.box[2], height=r.box[3]),
            )
            for r in rows
        ]
        assert_same_readings(reader.read_batch(crops), plain_read(reader, plain_networks, crops))


class TestFastParts:
    def test_the_batch_tensor_is_each_crop_standardised_alone(self) -> None:
        crops = [*synthetic_crops(20, seed=3), Image.new("L", (90, 30), 128), Image.new("RGB", (7, 300), "white")]
        expected = np.stack([plate_array(im) for im in crops])[:, None]
        assert np.array_equal(plate_batch(crops).numpy(), expected)

    def test_the_fused_features_are_the_plain_features(
        self, reader: PlateReader, plain_networks: list[PlateCRNN]
    ) -> None:
        assert any(isinstance(layer, PairMaxPool) for layer in reader.models[0].features)
        batch = plate_batch(synthetic_crops(9, seed=4)).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            for fast, plain in zip(reader.models, plain_networks, strict=True):
                assert torch.equal(fast.features(batch), plain.features(batch))

    def test_batch_decoding_is_per_plate_decoding(self) -> None:
        rng = np.random.default_rng(5)
        logits = rng.normal(size=(200, 32, NUM_CLASSES)) * rng.uniform(0.5, 6, size=(200, 1, 1))
        probs = np.exp(logits) / np.exp(logits).sum(axis=2, keepdims=True)
        probs[:20, :, 0] = 1.0  # all-blank plates read nothing
        probs[20:40, 5:9] = probs[20:40, 5:6]  # a run whose frames tie: argmax keeps the first
        probs[40:60, :, 3] = np.float32(MIN_ALTERNATIVE)  # at the alternatives' threshold in its own precision
        for table in (probs.astype(np.float32), probs, probs[:, :1], probs[:0]):
            assert batch_slots(table) == [greedy_slots(p) for p in table]
            expected = [decode(p) for p in table]
            found = decode_batch(table)
            assert [(d.plate, d.confidence, d.char_confidences, d.candidates) for d in found] == [
                (d.plate, d.confidence, d.char_confidences, d.candidates) for d in expected
            ]
            assert [(d.scored, d.margins, d.agreement) for d in found] == [
                (d.scored, d.margins, d.agreement) for d in expected
            ]

    @pytest.mark.parametrize("count", range(1, 12))
    def test_the_members_mean_is_numpys(self, count: int) -> None:
        rng = random.Random(count)
        for _ in range(2000):
            values = [rng.random() ** rng.randint(1, 6) - rng.random() / 3 for _ in range(count)]
            assert repr(_mean(values)) == repr(float(np.mean(values)))  # repr: -0.0 and 0.0 differ too
        assert repr(_mean([-0.0] * count)) == repr(float(np.mean([-0.0] * count)))
