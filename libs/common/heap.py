"""The garbage collector set for a long-running service, once its start-up has built what it keeps.

Cyclic collection cost about a tenth of the gateway's and records' CPU on a single-read camera post
(perf: gc_collect_main and its visits): every 700 allocations the young generation was traversed, and the
older ones, holding the app, its routes, the ORM's mappers and the pydantic schemas, every few of those.
Frozen, what start-up built is never traversed again; a larger young threshold lets most of a request's
short-lived objects die by reference count before any collection looks at them. Cycles are still found,
only in larger, rarer sweeps (memory held by garbage cycles grows by at most a few thousand objects).
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 20_000  # allocations between young collections (CPython's default: 700)


def settle_after_startup() -> None:
    """Collect what start-up left, freeze the rest out of future collections, and collect less often.

    Once a process: a test run that starts many apps in one process freezes only the first (a frozen
    object in a cycle is never freed, so freezing each app torn down after would keep them all).
    """
    if gc.get_freeze_count():
        return
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
