"""Reading in bfloat16: the convolutions rounded, everything a caller sees unchanged but the version's mark.

The speed and the agreement over the photos are measured by `bench/recognizer_precision.py`; these check
the mechanism: the arithmetic really changes, the output stays float32, the readings name the precision, and
a bad setting is refused."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch

from services.recognizer.engine.augment import synthetic_crop
from services.recognizer.engine.crop import crop_plate
from services.recognizer.engine.dataset import holdout_names, read_labels
from services.recognizer.engine.model import plate_batch
from services.recognizer.engine.reader import PlateReader, native_bfloat16, resolve_precision
from services.recognizer.engine.synth import render_plate
from services.recognizer.settings import RecognizerSettings


@pytest.fixture(scope="module")
def half() -> PlateReader:
    return PlateReader.load(precision="bfloat16")


def test_a_precision_outside_the_three_is_refused() -> None:
    with pytest.raises(ValueError, match="precision is one of"):
        resolve_precision("float16")
    with pytest.raises(ValueError):
        PlateReader.load(precision="int8")


def test_auto_is_bfloat16_only_where_the_cpu_has_it() -> None:
    assert resolve_precision("auto") == ("bfloat16" if native_bfloat16() else "float32")
    assert resolve_precision("float32") == "float32"


def test_the_convolutions_run_in_bfloat16_and_the_rest_in_float32(half: PlateReader, reader: PlateReader) -> None:
    for model in half.models:
        assert {p.dtype for p in model.features.parameters()} == {torch.bfloat16}
        assert {p.dtype for p in model.rnn.parameters()} == {torch.float32}
    rng = random.Random(3)
    batch = plate_batch([synthetic_crop(rng, render_plate(rng).image) for _ in range(8)])
    with torch.inference_mode():
        rounded, exact = half.models[-1](batch), reader.models[-1](batch)
    assert rounded.dtype == torch.float32
    # close, but not the float32 numbers: the conversion really took place
    assert not torch.equal(rounded, exact)
    assert (rounded.exp() - exact.exp()).abs().max() < 0.1


def test_a_bfloat16_reading_names_its_precision(half: PlateReader, reader: PlateReader) -> None:
    assert half.version == reader.version + "+bf16"
    assert PlateReader.load(precision="float32").version == reader.version


def test_real_crops_read_the_same_plates(half: PlateReader, reader: PlateReader, plates_dir: Path) -> None:
    # photos the model trained on (not the held-out ones): the bench reads every box variant of all of them
    hold = holdout_names()
    rows = [r for r in read_labels(plates_dir / "labels.tsv") if r.image not in hold][:40]
    crops = [crop_plate((plates_dir / "images" / r.image).read_bytes(), box=r.moved(0.0, 0.0)) for r in rows]
    for a, b in zip(reader.read_batch(crops), half.read_batch(crops), strict=True):
        assert a.plate == b.plate
        assert abs(a.confidence - b.confidence) < 0.02


def test_the_setting_refuses_an_unknown_precision() -> None:
    assert RecognizerSettings().reader_precision == "float32"  # the rule's outcome (docs/recognizer-experiments.md)
    assert RecognizerSettings(reader_precision="bfloat16").reader_precision == "bfloat16"
    with pytest.raises(ValueError):
        RecognizerSettings(reader_precision="float64")
