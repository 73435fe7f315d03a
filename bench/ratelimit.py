"""Cost per request of the rate limits shared across gateway replicas (services/gateway/ratelimit.py).

Starts an embedded PostgreSQL (services.cli.stack), migrates it, and as the gateway's role times
RateLimiter.take on its two paths: the lease hit (a token from this replica's lease, no round trip) and the
lease refill (the lease is empty, one upsert on gateway.rate_buckets), plus the in-memory bucket for scale.
Prints microseconds per request, best of `--rounds`, and the mix at the default 10% lease.

Run: .venv/bin/python bench/ratelimit.py [--n 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from libs.common.db import create_engine
from services.cli.stack import LocalStack
from services.gateway.rate_budget import SharedBudget
from services.gateway.ratelimit import RateLimiter

HUGE = 1e12  # a capacity no run exhausts, so every take is granted


async def per_take_us(limiter: RateLimiter, n: int, rounds: int, *, capacity: float, tag: str) -> float:
    """Best of `rounds` of n takes on one key each, in microseconds per take."""
    best = float("inf")
    for r in range(rounds):
        key = f"{tag}-{r}"
        started = time.perf_counter()
        for _ in range(n):
            await limiter.take("camera", key, capacity=capacity, per_second=capacity)
        best = min(best, (time.perf_counter() - started) / n * 1e6)
    return best


async def run(stack: LocalStack, n: int, rounds: int) -> None:
    await stack.prepare()
    url = stack.env_for("gateway", http_port=0)["ALPR_DATABASE_URL"]
    engine = create_engine(url, schema="gateway", pool_size=2)
    try:
        budget = SharedBudget(engine)
        local = await per_take_us(RateLimiter(), n, rounds, capacity=HUGE, tag="local")
        # a lease of HUGE x 10% never runs out: every take after the first is a hit
        hit = await per_take_us(RateLimiter(budget=budget), n, rounds, capacity=HUGE, tag="hit")
        # a fraction so small the lease is one token: every take goes to the database
        refill = await per_take_us(
            RateLimiter(budget=budget, lease_fraction=0.5 / HUGE), n, rounds, capacity=HUGE, tag="refill"
        )
    finally:
        await engine.dispose()
    print(f"in-memory bucket only: {local:.2f} us per request")
    print(f"lease hit (no round trip): {hit:.2f} us per request")
    print(f"lease refill (one upsert on gateway.rate_buckets): {refill:.0f} us per request")
    for lease in (10, 200):
        mixed = hit + (refill - hit) / lease
        print(f"a lease of {lease} tokens (10% of a {lease * 10} burst): {mixed:.1f} us per request on average")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="alpr-bench-ratelimit-"))
    folder.chmod(0o755)
    stack = LocalStack(folder, durable=False)
    stack.start_infrastructure()
    try:
        asyncio.run(run(stack, args.n, args.rounds))
    finally:
        stack.stop_infrastructure()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
