"""Purpose rules on labelled reasons: the four rates of issue #22 and the check's latency per reason.

Each reason goes through the gateway's own purpose check (services.gateway.service.check_purpose, the one a
search runs) with a well-formed case number. A refusal is either 403 `prohibited_purpose` (flagged) or a 422
(`purpose_unclear`, `reason_vague`, `reason_too_short`). Sets are TSV files with `expect`, `use`, `reason`;
`expect` is `refuse` (prohibited use), `allow` (lawful) or `refuse_gibberish` (no content).

Run: `python bench/purposes.py [--set FILE ...] [--show] [--repeat N]`; by default our own set
(tests/services/gateway/purposes.tsv) and the shared examples ($ALPR_SHARED_DIR/data/purposes/examples.tsv,
default ../shared).
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from libs.common.contracts.purpose import AuthorizedUse, Purpose
from libs.common.errors import AlprError
from services.gateway.service import check_purpose
from services.gateway.settings import GatewaySettings

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ALPR_SHARED_DIR", REPO.parent / "shared"))
DEFAULT_SETS = [REPO / "tests/services/gateway/purposes.tsv", SHARED / "data/purposes/examples.tsv"]
CASE_NUMBER = "SJ-2026-004211"
BARS = "bars: prohibited refused >= 95%, flagged >= 80%; lawful flagged 0, refused <= 2.5%; empty refused 100%"


@dataclass
class Tally:
    """Outcomes per expected label, and the lines that missed."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    misses: list[str] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def add(self, expect: str, outcome: str) -> None:
        by_outcome = self.counts.setdefault(expect, {})
        by_outcome[outcome] = by_outcome.get(outcome, 0) + 1

    def rate(self, expect: str, *outcomes: str) -> tuple[int, int]:
        by_outcome = self.counts.get(expect, {})
        return sum(by_outcome.get(o, 0) for o in outcomes), sum(by_outcome.values())


def outcome_of(reason: str, use: str, settings: GatewaySettings) -> str:
    """`allowed`, `flagged` (403 prohibited_purpose) or the 422's code."""
    try:
        check_purpose(Purpose(use=AuthorizedUse(use), case_number=CASE_NUMBER, reason=reason), settings)
    except AlprError as err:
        return "flagged" if err.code == "prohibited_purpose" else err.code
    return "allowed"


def run(path: Path, settings: GatewaySettings, repeat: int) -> Tally:
    tally = Tally()
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    for row in rows:
        outcome = outcome_of(row["reason"], row["use"], settings)
        started = time.perf_counter()
        for _ in range(repeat):
            outcome_of(row["reason"], row["use"], settings)
        tally.seconds.append((time.perf_counter() - started) / repeat)
        tally.add(row["expect"], outcome)
        wrong = (row["expect"] == "allow") == (outcome != "allowed") or (
            row["expect"] == "refuse" and outcome != "flagged"
        )
        if wrong:
            tally.misses.append(f"  {row['expect']:>16} -> {outcome:<18} {row['reason']}")
    return tally


def percent(part: int, whole: int) -> str:
    return f"{part}/{whole} = {100 * part / whole:.1f}%" if whole else "n/a"


def report(path: Path, tally: Tally, show: bool) -> None:
    refusals = ("flagged", "purpose_unclear", "reason_vague", "reason_too_short", "invalid_case_number")
    print(f"{path}")
    print(f"  prohibited refused (either refusal): {percent(*tally.rate('refuse', *refusals))}")
    print(f"  prohibited flagged:                  {percent(*tally.rate('refuse', 'flagged'))}")
    print(f"  lawful flagged:                      {percent(*tally.rate('allow', 'flagged'))}")
    print(f"  lawful refused (either refusal):     {percent(*tally.rate('allow', *refusals))}")
    print(f"  empty reasons refused:               {percent(*tally.rate('refuse_gibberish', *refusals))}")
    micros = sorted(s * 1e6 for s in tally.seconds)
    p99 = micros[min(len(micros) - 1, int(len(micros) * 0.99))]
    print(
        f"  purpose check per reason: p50 {statistics.median(micros):.0f} us, p99 {p99:.0f} us, "
        f"max {micros[-1]:.0f} us ({len(micros)} reasons)"
    )
    if show:
        print("\n".join(tally.misses) or "  (no misses)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", type=Path, action="append", dest="sets", help="a TSV of labelled reasons")
    parser.add_argument("--show", action="store_true", help="print the reasons that missed (and flagged refusals)")
    parser.add_argument("--repeat", type=int, default=20, help="timed runs per reason")
    args = parser.parse_args()
    settings = GatewaySettings.model_construct()  # the defaults; no database or keys are needed to check text
    print(BARS)
    for path in args.sets or DEFAULT_SETS:
        report(path, run(path, settings, args.repeat), args.show)


if __name__ == "__main__":
    main()
