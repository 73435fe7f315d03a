"""Progress of long work on stderr (tqdm), so stdout stays the command's result for a pipe or `jq`."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from tqdm import tqdm


@contextmanager
def working(description: str, *, tick_s: float = 0.5) -> Iterator[None]:
    """An elapsed-time bar while the block runs; tqdm draws it only on a terminal."""
    bar = tqdm(desc=description, unit="s", bar_format="{desc}: {elapsed}", disable=None, leave=False)
    done = threading.Event()

    def tick() -> None:
        while not done.wait(tick_s):
            bar.refresh()

    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    try:
        yield
    finally:
        done.set()
        ticker.join()
        bar.close()
