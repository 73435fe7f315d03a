"""Recognizer speed on this CPU: plates/s batched and p50/p95 ms for one plate, torch on 2 threads.

Run: `python bench/recognizer_throughput.py [--weights PATH] [--threads 2] [--seconds 5]`
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.recognizer.engine.augment import synthetic_crop
from services.recognizer.engine.reader import PlateReader
from services.recognizer.engine.synth import render_plate


def main() -> None:
    """Print batched throughput (preprocessing, network and decoding included) and single-plate latency."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--weights", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=5.0, help="time spent on each measurement")
    args = parser.parse_args()
    reader = PlateReader.load(args.weights, threads=args.threads)
    rng = random.Random(7)
    crops = [synthetic_crop(rng, render_plate(rng).image) for _ in range(256)]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, model {reader.version}")
    for batch in (64, 128, 256):
        reader.read_batch(crops[:batch])  # warm-up: oneDNN picks kernels per shape
        done, started = 0, time.perf_counter()
        while time.perf_counter() - started < args.seconds:
            reader.read_batch(crops[:batch])
            done += batch
        print(f"batch {batch:>3}: {done / (time.perf_counter() - started):7.0f} plates/s")
    for crop in crops[:20]:
        reader.read(crop)
    latencies: list[float] = []
    started = time.perf_counter()
    while time.perf_counter() - started < args.seconds:
        t = time.perf_counter()
        reader.read(crops[len(latencies) % len(crops)])
        latencies.append((time.perf_counter() - t) * 1000)
    cuts = statistics.quantiles(latencies, n=20)
    print(f"single plate: p50 {statistics.median(latencies):.2f} ms, p95 {cuts[18]:.2f} ms ({len(latencies)} reads)")


if __name__ == "__main__":
    main()
