"""What the recognizer's training stream holds: the share of each state, serial layout and plate length.

Draws plates as `PlateStream` does for `alpr recognizer train` (a `real_share` of the draws are the
non-held-out photos, the rest rendered by `render_plate`, state designs or the generic mix) and prints
the shares, and the typefaces the rendered plates' characters were drawn in (`--highway-faces` as `train`'s).
The generator is seeded, so the census is the same on every machine.

Run: `python bench/synth_mix.py [--plates 20000] [--seed 0] [--real-share 0.25] [--highway-faces 0]`
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.recognizer.engine.state_designs import DESIGNS
from services.recognizer.engine.synth import render_plate
from services.recognizer.engine.train import DEFAULT_REAL_SHARE

TITLES = ("kind", "state", "layout", "length", "face")


def census(plates: int, *, seed: int, real_share: float, highway_faces: float = 0.0) -> dict[str, Counter[str]]:
    """Counts by state, layout, length, face and kind (real, state design, generic, vanity letters-only)."""
    rng = random.Random(seed)
    counts: dict[str, Counter[str]] = {title: Counter() for title in TITLES}
    for _ in range(plates):
        if rng.random() < real_share:
            counts["kind"]["real photo (non-held-out)"] += 1
            continue
        plate = render_plate(rng, size=(160, 80), highway_share=highway_faces)
        kind = "state design" if plate.state else "generic"
        if plate.layout.startswith("vanity"):
            kind += ", vanity" + (" letters only" if plate.plate.isalpha() else "")
        counts["kind"][kind] += 1
        counts["state"][plate.state or "(generic)"] += 1
        counts["layout"][plate.layout] += 1
        counts["length"][str(len(plate.plate))] += 1
        counts["face"][plate.face.removesuffix(".ttf")] += 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plates", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--real-share", type=float, default=DEFAULT_REAL_SHARE)
    parser.add_argument("--highway-faces", type=float, default=0.0, help="as `alpr recognizer train`'s")
    args = parser.parse_args()
    if not (0.0 <= args.real_share <= 1.0 and 0.0 <= args.highway_faces <= 1.0):  # NaN fails too
        parser.error("--real-share and --highway-faces are shares, 0 to 1")
    counts = census(args.plates, seed=args.seed, real_share=args.real_share, highway_faces=args.highway_faces)
    rendered = sum(counts["state"].values())
    print(f"{args.plates} draws, seed {args.seed}: {rendered} rendered, shares below of all draws")
    for title in TITLES:
        print(f"\n{title}:")
        for name, n in sorted(counts[title].items(), key=lambda item: (-item[1], item[0])):
            print(f"  {name:<34} {n / args.plates:6.2%}")
    missing = {d.code for d in DESIGNS} - set(counts["state"])
    print(f"\n{len(DESIGNS)} jurisdictions designed; not drawn in this stream: {sorted(missing) or 'none'}")


if __name__ == "__main__":
    main()
