"""READ_FRAME as records asks it: photographs through NATS to the recognizer's handler, frames/s and one frame's ms.

The path timed is the running service's: a base64 JPEG on `alpr.recognize.frame`, decoded off the loop,
detected in the detector's micro-batcher, each plate straightened and read in the reader's micro-batcher
(both on one inference thread, as `app.py` builds them), the reply serialized, on an embedded nats-server.
Frames are the shared photos resized to 1280x720 (JPEG quality 90); timing only, no outcome is scored.

Run: `python bench/recognizer_frames.py [--frames 64] [--threads 2] [--seconds 10]`
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import os
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from libs.common.bus import Bus
from libs.common.contracts.frames import READ_FRAME, ReadFrameRequest
from services.cli.embedded import EmbeddedNats
from services.recognizer import handlers
from services.recognizer.detector import PlateDetector
from services.recognizer.engine.reader import PlateReader
from services.recognizer.frames import service_finder
from services.recognizer.service import Recognizer
from services.recognizer.settings import RecognizerSettings

SHARED = Path(os.environ.get("ALPR_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared"))


def requests(folder: Path, count: int) -> list[ReadFrameRequest]:
    """The first `count` photos (name order) at 1280x720, as READ_FRAME requests."""
    out = []
    for path in sorted(folder.glob("*.jpg"))[:count]:
        with Image.open(path) as photo:
            buffer = io.BytesIO()
            photo.convert("RGB").resize((1280, 720), Image.Resampling.BILINEAR).save(buffer, "JPEG", quality=90)
        out.append(ReadFrameRequest(image_b64=base64.b64encode(buffer.getvalue()).decode()))
    return out


async def measure(bodies: list[ReadFrameRequest], threads: int, seconds: float) -> None:
    """Frames/s with every frame in flight at once, then one frame at a time p50/p95."""
    settings = RecognizerSettings(torch_threads=threads)
    reader = PlateReader.load(settings.weights_path, threads=threads)
    detector = PlateDetector.load(settings.detector_weights_path, threads=threads)
    inference = ThreadPoolExecutor(max_workers=1)
    finder = service_finder(detector, reader, settings, inference)
    readings = finder.readings
    recognizer = Recognizer(
        readings,
        version=reader.version,
        max_image_bytes=settings.max_image_bytes,
        finder=finder,
        state_prior=reader.for_state,
    )
    folder = Path(tempfile.mkdtemp(prefix="alpr-bench-"))
    server = EmbeddedNats(folder / "nats")
    server.start()
    try:
        service = await Bus.connect(server.url, name="recognizer")
        client = await Bus.connect(server.url, name="records")
        await handlers.register(service, recognizer)
        await service.nc.flush()
        for body in bodies[:4]:
            await client.call(READ_FRAME, body, timeout=30)
        started = time.perf_counter()
        replies = await asyncio.gather(*(client.call(READ_FRAME, body, timeout=120) for body in bodies))
        elapsed = time.perf_counter() - started
        plates = sum(len(reply.plates) for reply in replies)
        print(
            f"{len(bodies)} frames in flight at once (detector batch {settings.detector_max_batch}): "
            f"{len(bodies) / elapsed:.1f} frames/s, {plates} plates read"
        )
        latencies: list[float] = []
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            t = time.perf_counter()
            await client.call(READ_FRAME, bodies[len(latencies) % len(bodies)], timeout=30)
            latencies.append((time.perf_counter() - t) * 1000)
        cuts = statistics.quantiles(latencies, n=20)
        print(
            f"one frame at a time through NATS: p50 {statistics.median(latencies):.1f} ms, "
            f"p95 {cuts[18]:.1f} ms ({len(latencies)} frames)"
        )
        await client.close()
        await service.close()
    finally:
        await finder.close()
        inference.shutdown(wait=True)
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--photos", type=Path, default=SHARED / "data" / "plates-openalpr-us" / "images")
    args = parser.parse_args()
    asyncio.run(measure(requests(args.photos, args.frames), args.threads, args.seconds))


if __name__ == "__main__":
    main()
