"""Detector + reader speed on this CPU: 1280x720 frames/s batched, and p50/p95 ms for one frame at a time.

Each frame is a JPEG of a shared photo resized to 1280x720; the path timed is the service's own
(`frames.PlateFinder`, micro-batchers on one inference thread as `app.py` builds them, without the bus): decode
the JPEG, detect the batch in one pass, cut each plate by the shipped reading rule, read every crop of the batch
together, keep what reads as a plate. Timing only: no photo's outcome is looked at, so the held-out photos may
be among the frames.

Run: `python bench/detector_throughput.py [--detector-weights PATH] [--weights PATH] [--threads N] [--seconds 10]
[--rule N]` (N: a reading rule's index in `reading.CANDIDATES`; the shipped one unless told)
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.recognizer.detector.detect import PlateDetector
from services.recognizer.detector.reading import CANDIDATES, SHIPPED, ReadingRule
from services.recognizer.engine.crop import MAX_IMAGE_BYTES
from services.recognizer.engine.reader import PlateReader
from services.recognizer.frames import PlateFinder, decode_frame, service_finder
from services.recognizer.settings import RecognizerSettings

SERVICE_THREADS = RecognizerSettings.model_fields["torch_threads"].default  # as the service runs

SHARED = Path(os.environ.get("ALPR_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared"))


def frames(folder: Path, count: int) -> list[bytes]:
    """The first `count` photos of the folder (name order), resized to 1280x720 and stored as JPEG (quality 90)."""
    out = []
    for path in sorted(folder.glob("*.jpg"))[:count]:
        with Image.open(path) as photo:
            buffer = io.BytesIO()
            photo.convert("RGB").resize((1280, 720), Image.Resampling.BILINEAR).save(buffer, "JPEG", quality=90)
            out.append(buffer.getvalue())
    return out


async def run_batch(finder: PlateFinder, batch: list[bytes]) -> int:
    """Decode, detect and read a batch of frames as concurrent photographs; the number of plates kept."""
    images = [decode_frame(data, max_bytes=MAX_IMAGE_BYTES) for data in batch]
    return sum(len(plates) for plates in await asyncio.gather(*(finder.find(image) for image in images)))


def finder_for(
    detector: PlateDetector, reader: PlateReader, executor: ThreadPoolExecutor, batch: int, rule: ReadingRule
) -> PlateFinder:
    """The service's finder, its detector batching up to `batch` frames."""
    return service_finder(detector, reader, RecognizerSettings(), executor, detector_batch=batch, rule=rule)


async def measure(
    detector: PlateDetector, reader: PlateReader, data: list[bytes], seconds: float, rule: ReadingRule
) -> None:
    """Frames/s for a few batch sizes, then one frame's p50/p95 latency."""
    executor = ThreadPoolExecutor(max_workers=1)
    for size in (1, 4, 8, 16):
        finder = finder_for(detector, reader, executor, size, rule)
        await run_batch(finder, data[:size])  # warm-up: oneDNN picks kernels per shape
        done, plates, started, cpu = 0, 0, time.perf_counter(), time.process_time()
        while time.perf_counter() - started < seconds:
            batch = [data[(done + i) % len(data)] for i in range(size)]
            plates += await run_batch(finder, batch)
            done += size
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        # CPU ms a frame: the work, which other processes on the cores inflate far less than the wall clock
        print(
            f"batch {size:>2}: {done / elapsed:6.1f} frames/s, {1000 * cpu / done:5.1f} CPU ms a frame"
            f" ({plates / max(1, done):.2f} plates kept per frame)"
        )
        await finder.close()
    finder = finder_for(detector, reader, executor, 1, rule)
    latencies: list[float] = []
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        t = time.perf_counter()
        await run_batch(finder, [data[len(latencies) % len(data)]])
        latencies.append((time.perf_counter() - t) * 1000)
    await finder.close()
    executor.shutdown(wait=True)
    cuts = statistics.quantiles(latencies, n=20)
    print(f"one frame: p50 {statistics.median(latencies):.1f} ms, p95 {cuts[18]:.1f} ms ({len(latencies)} frames)")


def main() -> None:
    """Print frames/s for a few batch sizes, then one frame's p50/p95 latency."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--detector-weights", type=Path, default=None)
    parser.add_argument("--weights", type=Path, default=None, help="reader weights")
    parser.add_argument("--threads", type=int, default=SERVICE_THREADS, help="torch threads (default: the service's)")
    parser.add_argument("--seconds", type=float, default=10.0, help="time spent on each measurement")
    parser.add_argument(
        "--rule", type=int, default=CANDIDATES.index(SHIPPED), help="reading rule: its index in reading.CANDIDATES"
    )
    parser.add_argument("--photos", type=Path, default=SHARED / "data" / "plates-openalpr-us" / "images")
    args = parser.parse_args()
    detector = PlateDetector.load(args.detector_weights, threads=args.threads)
    reader = PlateReader.load(args.weights, threads=args.threads)
    data = frames(args.photos, 64)
    # OMP_WAIT_POLICY=PASSIVE: with two threads on a busy two-core machine the default spinning made a frame 20x slower
    policy = os.environ.get("OMP_WAIT_POLICY", "default")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, OMP_WAIT_POLICY {policy}")
    rule = CANDIDATES[args.rule]
    print(f"detector {detector.version}, reader {reader.version}, reading {rule.name}")
    print(f"{len(data)} frames of 1280x720 (JPEG); load average {os.getloadavg()[0]:.2f} at the start")
    asyncio.run(measure(detector, reader, data, args.seconds, rule))
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
