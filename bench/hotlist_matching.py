"""Hotlist matching at scale: 1,000,000 entries plus 1,000 wildcards, reads of 5 texts each.

Run: `python bench/hotlist_matching.py [--entries N] [--wildcards N] [--reads N] [--seed N]`
"""

from __future__ import annotations

import argparse
import gc
import random
import resource
import string
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.records.hotlists.entries import HotlistEntryIn, HotlistSource
from services.records.hotlists.matching import HotlistIndex

NOW = datetime(2026, 6, 1, tzinfo=UTC)
STATES = ["CA", "NV", "OR", "AZ", "WA", "TX", None]
CHARS = string.ascii_uppercase + string.digits


def random_plate(rng: random.Random) -> str:
    """A plate of 5-8 characters drawn from A-Z and 0-9."""
    return "".join(rng.choices(CHARS, k=rng.randint(5, 8)))


def random_pattern(rng: random.Random) -> str:
    """A partial plate: a literal start or end, with `?` and `*` inside."""
    chars = list(random_plate(rng))
    chars[rng.randrange(1, len(chars) - 1)] = "?"
    if rng.random() < 0.5:
        chars[rng.randrange(len(chars))] = "*"
    return "".join(chars)


def entries(rng: random.Random, count: int, wildcards: int) -> Iterator[HotlistEntryIn]:
    """Entries built without validation: the bench measures the index, not pydantic."""
    for number in range(count + wildcards):
        yield HotlistEntryIn.model_construct(
            source=HotlistSource.NCIC,
            plate=random_pattern(rng) if number >= count else random_plate(rng),
            state=rng.choice(STATES),
            priority=rng.randint(0, 100),
            entered_at=NOW,
            refreshed_at=NOW,
            expires_at=NOW + timedelta(days=rng.choice([-1, 7])),
        )


def rss_mib() -> float:
    """Resident set size now, from /proc (peak RSS would hide what the index holds)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def main() -> None:
    """Build the index, then time matches of reads that mostly miss and sometimes hit."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--wildcards", type=int, default=1_000)
    parser.add_argument("--reads", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    gc.collect()
    before = rss_mib()
    index = HotlistIndex()
    clock = time.perf_counter_ns
    started, add_ns = clock(), 0
    plates = []
    for entry_id, entry in enumerate(entries(rng, args.entries, args.wildcards)):
        begin = clock()
        index.add(entry_id, entry)
        add_ns += clock() - begin
        if entry_id % 1000 == 0:
            plates.append(entry.plate)
    build_s, add_s = (clock() - started) / 1e9, add_ns / 1e9
    gc.collect()
    print(f"entries: {len(index):,} ({args.wildcards:,} wildcard)")
    print(f"build: {build_s:.1f} s with random entry generation", end="; ")
    print(f"HotlistIndex.add alone {add_s:.1f} s ({add_s / len(index) * 1e6:.2f} us/entry)")
    print(f"index memory (RSS growth): {rss_mib() - before:,.0f} MiB")

    # Reads of 5 texts: vendor, ours, three candidates; one read in ten carries a listed plate.
    reads = []
    for _ in range(args.reads):
        plate_texts = [random_plate(rng) for _ in range(5)]
        if rng.random() < 0.1:
            plate_texts[rng.randrange(5)] = rng.choice(plates).replace("*", "").replace("?", "7")
        origins = ["vendor", "ours", "candidate", "candidate", "candidate"]
        reads.append((list(zip(plate_texts, origins, strict=True)), rng.choice(STATES)))

    timings = []
    hits = 0
    started = time.perf_counter()
    for texts, state in reads:
        begin = clock()
        hits += len(index.match(texts, state, NOW))
        timings.append(clock() - begin)
    total_s = time.perf_counter() - started
    timings.sort()
    p50, p99 = timings[len(timings) // 2] / 1000, timings[int(len(timings) * 0.99)] / 1000
    print(f"reads: {len(reads):,} x 5 texts, hits: {hits:,}")
    print(f"throughput: {len(reads) / total_s:,.0f} reads/s")
    print(f"latency per read: p50 {p50:.1f} us, p99 {p99:.1f} us, max {timings[-1] / 1000:.1f} us")


if __name__ == "__main__":
    main()
