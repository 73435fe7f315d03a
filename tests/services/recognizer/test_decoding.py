"""CTC decoding and candidate ranking on hand-made probability tables."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from services.recognizer.engine.decoding import CharSlot, combine_members, decode, greedy_slots, rank_candidates
from services.recognizer.engine.model import ALPHABET, NUM_CLASSES


def frames(*path: tuple[str, float]) -> np.ndarray:
    """A (T x classes) table whose best class at each frame is the given char ("-" is blank)."""
    table = np.full((len(path), NUM_CLASSES), 0.0)
    for t, (ch, p) in enumerate(path):
        cls = 0 if ch == "-" else ALPHABET.index(ch) + 1
        table[t, cls] = p
        table[t, 0 if cls else 1] += 1 - p  # the rest goes to blank, or to "0" on blank frames
    return table


class TestGreedy:
    def test_collapses_repeats_and_drops_blanks(self) -> None:
        probs = frames(("-", 1), ("7", 0.9), ("7", 0.95), ("-", 1), ("A", 0.8), ("-", 1))
        assert decode(probs).plate == "7A"

    def test_blank_between_repeats_keeps_both(self) -> None:
        probs = frames(("1", 0.9), ("-", 1), ("1", 0.9))
        assert decode(probs).plate == "11"

    def test_char_confidence_is_the_peak_and_plate_confidence_their_product(self) -> None:
        probs = frames(("A", 0.6), ("A", 0.9), ("-", 1), ("B", 0.6))
        decoded = decode(probs)
        assert decoded.char_confidences == [0.9, 0.6]
        assert decoded.confidence == pytest.approx(0.54)

    def test_all_blank_reads_nothing(self) -> None:
        decoded = decode(frames(("-", 1), ("-", 1)))
        assert (decoded.plate, decoded.confidence, decoded.candidates) == ("", 0.0, [])

    def test_alternatives_come_from_the_peak_frame(self) -> None:
        probs = frames(("8", 0.7))
        probs[0, ALPHABET.index("B") + 1] = 0.25
        probs[0, 0] = 0.05
        (slot,) = greedy_slots(probs)
        assert slot.char == "8"
        assert slot.alternatives[0] == ("B", pytest.approx(0.25))


class TestCandidates:
    def test_best_first_with_swaps_and_drops(self) -> None:
        slots = [
            CharSlot("8", 0.7, (("B", 0.25),)),
            CharSlot("X", 0.99, ()),
            CharSlot("1", 0.6, (("", 0.3),)),
        ]
        ranked = rank_candidates(slots, top_n=10)
        assert [p for p, _ in ranked] == ["8X1", "8X", "BX1", "BX"]
        assert ranked[0][1] == pytest.approx(0.7 * 0.99 * 0.6, abs=1e-4)
        assert all(a[1] >= b[1] for a, b in itertools.pairwise(ranked))

    def test_top_n_limits_the_list(self) -> None:
        slots = [CharSlot(c, 0.5, (("A", 0.3), ("B", 0.2))) for c in "1234"]
        assert len(rank_candidates(slots, top_n=5)) == 5

    def test_first_candidate_is_the_greedy_plate(self) -> None:
        probs = frames(("-", 1), ("5", 0.8), ("-", 1), ("K", 0.9))
        decoded = decode(probs)
        assert decoded.candidates[0] == (decoded.plate, decoded.confidence)


class TestCombiningMembers:
    """Members are combined on whole plate strings: each string scores its mean probability across members."""

    def test_one_member_is_its_own_reading(self) -> None:
        single = decode(frames(("-", 1), ("5", 0.8), ("-", 1), ("K", 0.9)))
        assert combine_members([single]) is single

    def test_a_plate_both_members_list_beats_one_only_the_first_ranks_first(self) -> None:
        # member 1 reads 8X1 (0.6) over BX1 (0.4); member 2 reads BX1 (0.7) and does not list 8X1
        first = decode(frames(("8", 0.6), ("-", 1), ("X", 1.0), ("-", 1), ("1", 1.0)))
        second = decode(frames(("B", 0.7), ("-", 1), ("X", 1.0), ("-", 1), ("1", 1.0)))
        first.scored["BX1"] = (0.4, (0.4, 1.0, 1.0))
        combined = combine_members([first, second])
        assert combined.plate == "BX1"
        assert combined.confidence == pytest.approx((0.4 + 0.7) / 2, abs=1e-4)
        assert combined.char_confidences == pytest.approx([0.55, 1.0, 1.0], abs=1e-4)
        assert combined.candidates[0] == (combined.plate, combined.confidence)
        assert ("8X1", pytest.approx(0.3, abs=1e-4)) in combined.candidates

    def test_candidates_are_best_first_and_limited(self) -> None:
        members = [decode(frames(*((c, 0.6) for c in "1234"))) for _ in range(2)]
        combined = combine_members(members, top_n=3)
        scores = [s for _, s in combined.candidates]
        assert len(scores) == 3 and scores == sorted(scores, reverse=True)

    def test_members_that_read_nothing_give_nothing(self) -> None:
        blank = decode(frames(("-", 1), ("-", 1)))
        combined = combine_members([blank, blank])
        assert (combined.plate, combined.confidence, combined.candidates) == ("", 0.0, [])


class TestCalibratorInputs:
    """What decoding hands the calibrator: each candidate's smallest margin, and which members agree on it."""

    def test_margins_are_the_chosen_option_less_the_best_other(self) -> None:
        probs = frames(("8", 0.7), ("-", 1), ("X", 0.99))
        probs[0, ALPHABET.index("B") + 1] = 0.25
        probs[0, 0] = 0.05
        decoded = decode(probs)
        assert decoded.margins["8X"] == pytest.approx(0.7 - 0.25)
        assert decoded.margins["BX"] == pytest.approx(0.25 - 0.7)  # took an alternative: negative
        assert decoded.agreement == {"8X": 1.0}

    def test_combined_members_agree_by_share_and_average_the_margins_of_those_that_listed_a_plate(self) -> None:
        a = decode(frames(("8", 0.6), ("-", 1), ("X", 1.0)))
        b = decode(frames(("8", 0.9), ("-", 1), ("X", 1.0)))
        c = decode(frames(("B", 0.7), ("-", 1), ("X", 1.0)))
        combined = combine_members([a, b, c])
        assert combined.plate == "8X"
        assert combined.agreement["8X"] == pytest.approx(2 / 3) and combined.agreement["BX"] == pytest.approx(1 / 3)
        assert combined.margins["8X"] == pytest.approx((a.margins["8X"] + b.margins["8X"]) / 2)
