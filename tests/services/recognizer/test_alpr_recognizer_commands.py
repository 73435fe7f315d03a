"""`alpr recognizer train|calibrate` offer what `python -m services.recognizer.engine.cli` does, so a run recorded
with either command's arguments is the same run (and the same calibration) under the other."""

from __future__ import annotations

import argparse
import inspect
from pathlib import Path
from typing import Any

import pytest

import services.recognizer.engine.cli as engine_cli
from services.cli.main import build_parser
from services.recognizer.engine.calibrate import DEFAULT_SYNTHETIC
from services.recognizer.engine.cli import train_main
from services.recognizer.engine.train import ARCH
from services.recognizer.engine.weights import DEFAULT_WEIGHTS

# run I's recipe (docs/recognizer-experiments.md), as given to the engine's module
RUN_I = [
    "--init", "crnn-us-2.4.pt", "--steps", "4500", "--snapshots", "3", "--minutes", "80", "--seed", "3",
    "--lr", "1.5e-3", "--version", "crnn-us-2.5", "--out", "I.pt",
]  # fmt: skip
# run L's, the shipped crnn-us-2.5's (MODEL_CARD.md, Reproduce)
RUN_L = [
    "--init", "crnn-us-2.4.pt", "--rectify-only", "--steps", "9000", "--snapshots", "3", "--minutes", "90",
    "--seed", "6", "--lr", "1e-3", "--real-share", "0.5", "--version", "crnn-us-2.5", "--out", "L.pt",
]  # fmt: skip


def _options(parser: argparse.ArgumentParser, *path: str) -> set[str]:
    for name in path:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[name]
    return {flag for action in parser._actions for flag in action.option_strings}


@pytest.mark.parametrize("command", ["train", "calibrate"])
def test_alpr_offers_every_option_of_the_engines_command(command: str) -> None:
    engine = _options(engine_cli.build_parser(), command)
    alpr = _options(build_parser(), "recognizer", command)
    assert engine - alpr == set()


def _trainer_arguments(given: dict[str, Any]) -> dict[str, Any]:
    """What the trainer runs with: its defaults for what was not passed, and the default design spelt out."""
    defaults = {
        name: p.default
        for name, p in inspect.signature(train_main).parameters.items()
        if p.default is not inspect.Parameter.empty
    }
    arguments = {**defaults, **given}
    arguments["arch"] = arguments["arch"] or ARCH
    return arguments


@pytest.mark.parametrize("run", [RUN_I, RUN_L], ids=["run I", "run L"])
def test_a_recorded_run_reaches_the_trainer_alike_from_either_command(
    monkeypatch: pytest.MonkeyPatch, run: list[str]
) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(engine_cli, "train_main", lambda out, **kwargs: calls.append({"out": out, **kwargs}))
    engine_cli.main(["train", "--data-dir", "plates", *run])
    args = build_parser().parse_args(["recognizer", "train", "--data-dir", "plates", *run])
    args.func(args)
    by_engine, by_alpr = (_trainer_arguments(call) for call in calls)
    assert by_alpr == by_engine
    assert by_engine["rectify_only"] is ("--rectify-only" in run)
    steps = int(run[run.index("--steps") + 1])
    assert by_alpr["steps"] == steps and by_alpr["snapshots"] == 3 and by_alpr["version"] == "crnn-us-2.5"


def test_alpr_recognizer_train_passes_the_design_and_the_streams_options(monkeypatch: pytest.MonkeyPatch) -> None:
    given: dict[str, Any] = {}
    monkeypatch.setattr(engine_cli, "train_main", lambda out, **kwargs: given.update(kwargs))
    argv = ["recognizer", "train", "--snapshots", "2", "--real-share", "0.3", "--width", "24", "--hidden", "96"]
    args = build_parser().parse_args([*argv, "--train-on-calibration-split"])
    args.func(args)
    assert given["snapshots"] == 2 and given["real_share"] == 0.3
    assert given["arch"] == {"width": 24, "hidden": 96} and given["hold_calibration_split"] is False
    given.clear()
    args = build_parser().parse_args(["recognizer", "train", "--hidden", "96"])
    args.func(args)
    assert given["arch"] == {"width": ARCH["width"], "hidden": 96} and given["hold_calibration_split"] is True
    assert "snapshots" not in given and "real_share" not in given  # unset: the trainer's defaults


def test_alpr_recognizer_calibrate_fits_on_the_calibration_split_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Path, Path | None, int]] = []
    monkeypatch.setattr(
        engine_cli,
        "calibrate_main",
        lambda weights, *, real_from, synthetic: calls.append((weights, real_from, synthetic)),
    )
    for argv in (
        ["recognizer", "calibrate", "--weights", "I.pt"],
        ["recognizer", "calibrate", "--synthetic-only", "--synthetic", "500"],
        ["recognizer", "calibrate", "--weights", "I.pt", "--real-from", "plates"],
    ):
        args = build_parser().parse_args(argv)
        args.func(args)
    (weights, real_from, synthetic), only_synthetic, elsewhere = calls
    assert weights == Path("I.pt") and real_from is not None and real_from.name == "plates-openalpr-us"
    assert synthetic == DEFAULT_SYNTHETIC
    assert only_synthetic == (DEFAULT_WEIGHTS, None, 500)
    assert elsewhere == (Path("I.pt"), Path("plates"), DEFAULT_SYNTHETIC)


def test_alpr_recognizer_show_names_a_file_as_its_reads_do(capsys: pytest.CaptureFixture[str]) -> None:
    """An auditor holding a read's model_version finds the file that made it: `show` prints the same name."""
    import json

    from services.cli.main import main
    from services.recognizer.engine.reader import PlateReader

    main(["recognizer", "show"])
    shown = json.loads(capsys.readouterr().out)
    assert shown["model_version"] == PlateReader.load().version
    assert shown["uncalibrated_version"] == PlateReader.load(calibrated=False).version != shown["model_version"]
    assert shown["digest"] in {m["digest"] for m in [engine_cli.load_weights(DEFAULT_WEIGHTS)[1]]}
    assert shown["training"]["schedule_governed_by"] == "steps" and shown["calibration"]["sure_threshold"] > 0.5


def test_alpr_says_nothing_when_its_reader_leaves_the_pipe() -> None:
    """`alpr recognizer show | head -1`: the closed pipe is not a server out of reach (it printed 'unreachable')."""
    import os
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[3]
    env = {**os.environ, "PYTHONPATH": str(repo)}
    env.pop("ALPR_DEBUG", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.cli.main", "recognizer", "show"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=repo,
        env=env,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # before it writes: it loads torch and the weights first
    said = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141 and said == ""


def test_alpr_recognizer_show_reads_a_hand_made_files_odd_records_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Notes and the fit's records are the file's own prose: odd ones are shown as absent, never a crash."""
    import json

    import torch

    from services.cli.main import main

    blob = torch.load(DEFAULT_WEIGHTS, weights_only=True)
    blob["notes"], blob["calibration"]["fitted_on"] = "hand-made", ["not", "a", "mapping"]
    odd = tmp_path / "odd.pt"
    torch.save(blob, odd)
    main(["recognizer", "show", "--weights", str(odd)])
    shown = json.loads(capsys.readouterr().out)
    assert shown["training"] == {} and shown["calibration"]["chosen"] is None
    assert shown["calibration"]["sure_threshold"] == blob["calibration"]["sure_threshold"]
