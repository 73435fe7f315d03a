"""Training: a run governed by its steps is reproducible for its seed; a short time budget governs, and says so;
each learning-rate cycle leaves one ensemble member."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from libs.common.errors import InvalidInput
from services.recognizer.engine.train import cycle_learning_rate, train
from services.recognizer.engine.weights import load_weights


def _tensors(path: Path) -> dict[str, torch.Tensor]:
    members = load_weights(path)[0]
    return {f"{i}.{k}": v.clone() for i, m in enumerate(members) for k, v in m.state_dict().items()}


def test_a_step_governed_run_is_reproducible_for_its_seed(tmp_path: Path) -> None:
    first = train(tmp_path / "a.pt", data_dir=None, steps=3, seed=5, minutes=60, batch_size=4)
    train(tmp_path / "b.pt", data_dir=None, steps=3, seed=5, minutes=60, batch_size=4)
    assert first["schedule_governed_by"] == "steps" and first["steps"] == 3
    a, b = _tensors(tmp_path / "a.pt"), _tensors(tmp_path / "b.pt")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_time_budget_too_short_for_the_steps_governs_and_is_recorded(tmp_path: Path) -> None:
    notes = train(tmp_path / "c.pt", data_dir=None, steps=400, seed=5, minutes=0.001, batch_size=4)
    assert notes["schedule_governed_by"] == "time" and notes["steps"] < 400


def test_each_cycle_leaves_a_member_of_its_own(tmp_path: Path) -> None:
    notes = train(tmp_path / "d.pt", data_dir=None, steps=6, seed=5, minutes=60, batch_size=4, snapshots=2)
    assert [m["steps"] for m in notes["members"]] == [3, 6]
    first, second = (m.state_dict() for m in load_weights(tmp_path / "d.pt")[0])
    assert any(not torch.equal(first[k], second[k]) for k in first)


def test_the_learning_rate_restarts_with_each_cycle() -> None:
    rates = [cycle_learning_rate(step / 200, 1.0, 2) for step in range(200)]
    assert [c for c, _ in rates] == [0] * 100 + [1] * 100
    assert rates[0][1] == rates[100][1] == pytest.approx(0.1)  # each cycle opens its warm-up at 10% of the peak
    assert rates[99][1] < 0.03 and rates[199][1] < 0.03  # and anneals to about 2% before its member is kept
    assert max(r for _, r in rates) == pytest.approx(1.0, abs=0.01)


def test_a_run_goes_on_from_weights_under_its_own_version(tmp_path: Path) -> None:
    """How the shipped weights were made: a run, then another from its weights (MODEL_CARD.md, Reproduce)."""
    from services.recognizer.engine.cli import train_main

    first = tmp_path / "first.pt"
    train(first, data_dir=None, steps=2, seed=5, minutes=60, batch_size=4)
    train_main(tmp_path / "on.pt", data_dir=None, steps=2, seed=6, init=first, lr=1e-3, version="crnn-test-9")
    _, meta = load_weights(tmp_path / "on.pt")
    assert meta["version"] == "crnn-test-9" and meta["notes"]["init"] == "first.pt"
    # which weights it grew from, by their tensors, not the file's name: a chain of runs can be checked link by link
    _, first_meta = load_weights(first)
    assert meta["notes"]["init_weights"] == {"version": first_meta["version"], "digest": first_meta["digest"]}
    assert first_meta["notes"]["init_weights"] is None


def test_alpr_recognizer_train_passes_on_the_recipes_options(monkeypatch: pytest.MonkeyPatch) -> None:
    import services.recognizer.engine.cli as engine_cli
    from services.cli.main import build_parser

    given: dict[str, object] = {}
    monkeypatch.setattr(engine_cli, "train_main", lambda out, **kwargs: given.update(out=out, **kwargs))
    argv = ["recognizer", "train", "--init", "a.pt", "--lr", "0.0015", "--seed", "1", "--version", "v9"]
    args = build_parser().parse_args(argv)
    args.func(args)
    assert given["init"] == Path("a.pt") and given["lr"] == 0.0015 and given["seed"] == 1 and given["version"] == "v9"
    assert given["rectify_only"] is False
    rectify = build_parser().parse_args([*argv, "--rectify-only"])
    rectify.func(rectify)
    assert given["rectify_only"] is True
    assert "minutes" not in given and "steps" not in given  # unset: the trainer's defaults
    assert "highway_faces" not in given
    highway = build_parser().parse_args([*argv, "--highway-faces", "0.2"])
    highway.func(highway)
    assert given["highway_faces"] == 0.2


def test_rectify_only_trains_a_rectifier_a_member_and_leaves_the_readers_as_they_were(tmp_path: Path) -> None:
    """Run K's recipe: only the crop a member is given may change, never what the member reads from it."""
    base = tmp_path / "base.pt"
    train(base, data_dir=None, steps=4, seed=5, minutes=60, batch_size=4, snapshots=2)
    notes = train(
        tmp_path / "k.pt", data_dir=None, steps=4, seed=6, minutes=60, batch_size=4, snapshots=2, lr=0.05,
        init=base, rectify_only=True,
    )  # fmt: skip
    assert notes["rectify_only"] is True and [m["steps"] for m in notes["members"]] == [2, 4]
    # each member says how far its map varies across a batch: what showed runs K and L had learnt fixed re-cuts
    assert all(m["map_spread"] >= 0.0 for m in notes["members"])
    assert "map_spread" not in train(tmp_path / "plain.pt", data_dir=None, steps=2, batch_size=4)["members"][0]
    before, _ = load_weights(base)
    after, meta = load_weights(tmp_path / "k.pt")
    assert meta["arch"]["rectifier"] == 1 and len(after) == 2
    for old, new in zip(before, after, strict=True):
        old_state, new_state = old.state_dict(), new.state_dict()
        assert all(torch.equal(v, new_state[k]) for k, v in old_state.items())  # batch-norm statistics too
        assert new.rectifier is not None
        identity = torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0])
        assert not torch.equal(new_state["rectifier.locate.9.bias"], identity)  # each member's own was trained


def test_rectify_only_needs_weights_to_rectify_and_one_cycle_a_member(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as no_init:
        train(tmp_path / "x.pt", data_dir=None, steps=2, batch_size=4, rectify_only=True)
    assert no_init.value.code == "invalid_arguments"
    base = tmp_path / "base.pt"
    train(base, data_dir=None, steps=2, seed=5, minutes=60, batch_size=4, snapshots=1)
    with pytest.raises(InvalidInput, match="snapshots must be 1"):
        train(tmp_path / "y.pt", data_dir=None, steps=2, batch_size=4, snapshots=3, init=base, rectify_only=True)
    train(tmp_path / "z.pt", data_dir=None, steps=2, batch_size=4, snapshots=1, init=base, rectify_only=True)
    with pytest.raises(InvalidInput, match="already have a rectifier"):
        train(tmp_path / "w.pt", data_dir=None, steps=2, batch_size=4, snapshots=1, init=tmp_path / "z.pt",
              rectify_only=True)  # fmt: skip


def test_rectify_only_too_short_for_its_cycles_keeps_every_member_it_was_given(tmp_path: Path) -> None:
    """Two steps cannot give three cycles: the file must still hold three members, the last one's rectifier
    untrained (the identity), never fewer members than the weights it started from."""
    base = tmp_path / "base.pt"
    train(base, data_dir=None, steps=3, seed=5, minutes=60, batch_size=4, snapshots=3)
    notes = train(tmp_path / "s.pt", data_dir=None, steps=2, batch_size=4, snapshots=3, init=base, rectify_only=True)
    after, _ = load_weights(tmp_path / "s.pt")
    assert len(after) == 3 and notes["members"][-1]["rectifier"] == "untrained"
    identity = torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0])
    assert torch.equal(after[-1].state_dict()["rectifier.locate.9.bias"], identity)
    for old, new in zip(load_weights(base)[0], after, strict=True):
        assert all(torch.equal(v, new.state_dict()[k]) for k, v in old.state_dict().items())


@pytest.mark.parametrize(
    "arguments",
    [
        {"steps": 0},
        {"snapshots": 0},
        {"batch_size": 0},
        {"real_share": 2.0},
        {"real_share": -0.1},
        {"lr": -1.0},
        {"lr": float("nan")},
        {"minutes": 0.0},
        {"highway_faces": 1.5},
        {"highway_faces": float("nan")},
    ],
)
def test_a_run_that_could_only_write_untrained_or_broken_weights_is_refused_before_it_starts(
    tmp_path: Path, arguments: dict[str, float]
) -> None:
    out = tmp_path / "w.pt"
    with pytest.raises(InvalidInput) as refused:
        train(out, data_dir=None, **{"steps": 2, **arguments})  # type: ignore[arg-type]
    assert refused.value.code == "invalid_arguments" and not out.exists()


def test_alpr_recognizer_train_refuses_them_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from services.cli.main import main as alpr

    with pytest.raises(SystemExit) as stop:
        alpr(["recognizer", "train", "--steps", "0", "--out", str(tmp_path / "w.pt")])
    assert stop.value.code == 2
    assert capsys.readouterr().err.strip() == (
        "alpr recognizer train: refused (invalid_arguments): steps and batch size are at least 1, not 0 and 64"
    )
    assert not (tmp_path / "w.pt").exists()


def test_the_chains_committed_links_verify_and_say_how_they_were_made() -> None:
    """A link kept for the next run to resume from (training/README.md) loads like served weights, was governed
    by its steps (so its command remakes it), and resumed from the link its notes name, if any."""
    links = sorted((Path(__file__).resolve().parents[3] / "training" / "recognizer").glob("*.pt"))
    assert links, "training/recognizer holds the chain's links"
    digests = {}
    for link in links:
        _, meta = load_weights(link)
        digests[meta["version"]] = meta["digest"]
        notes = meta["notes"]
        assert notes["schedule_governed_by"] == "steps" and notes["steps"] == notes["planned_steps"]
        assert notes["calibration_split_held_out"] is True and "calibration" not in meta
    for link in links:
        notes = load_weights(link)[1]["notes"]
        before = notes.get("init_weights")
        assert (notes["init"] is None) == (before is None)  # a link that resumed names what it resumed from
        assert before is None or digests.get(before["version"]) == before["digest"]
