"""Recognizer speed on this CPU: plates/s batched and p50/p95 ms for one plate, torch on the service's threads (one).

Then one plate at a time through NATS: a client's request on `alpr.recognize` (a JPEG crop, base64) to
the recognizer's handler, micro-batcher and reply, on an embedded nats-server, as records asks.

Run: `python bench/recognizer_throughput.py [--weights PATH] [--threads N] [--precision P] [--seconds 5] [--no-nats]`
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as the service runs (services/recognizer/__init__.py)

import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from libs.common.bus import Bus
from libs.common.contracts.recognition import RECOGNIZE, RecognizeRequest
from services.cli.embedded import EmbeddedNats
from services.recognizer import handlers
from services.recognizer.engine.augment import synthetic_crop
from services.recognizer.engine.batcher import MicroBatcher
from services.recognizer.engine.reader import PRECISIONS, PlateReader
from services.recognizer.engine.synth import render_plate
from services.recognizer.service import Recognizer
from services.recognizer.settings import RecognizerSettings

SERVICE_THREADS = RecognizerSettings.model_fields["torch_threads"].default  # as the service runs
SERVICE_PRECISION = RecognizerSettings.model_fields["reader_precision"].default


def main() -> None:
    """Print batched throughput (preprocessing, network and decoding included) and single-plate latency."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--weights", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=SERVICE_THREADS, help="torch threads (default: the service's)")
    parser.add_argument("--seconds", type=float, default=5.0, help="time spent on each measurement")
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=SERVICE_PRECISION,
        help="the convolutions' arithmetic (the service's)",
    )
    parser.add_argument("--no-nats", action="store_true", help="skip the measurement through NATS")
    args = parser.parse_args()
    reader = PlateReader.load(args.weights, threads=args.threads, precision=args.precision)
    rng = random.Random(7)
    # colour, as vendors send them: training crops are grey, and the grey conversion is part of reading
    crops = [synthetic_crop(rng, render_plate(rng).image).convert("RGB") for _ in range(256)]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, model {reader.version}")
    if len(reader.models) > 1:
        # the other members read only what the lead is unsure of, so the rate depends on that share
        lead = PlateReader.load(
            args.weights, threads=args.threads, members=[len(reader.models) - 1], precision=args.precision
        )
        unsure = sum(r.confidence < reader.consult_below for r in lead.read_batch(crops))
        print(f"{len(reader.models)} members; the lead is unsure of {unsure}/{len(crops)} of these crops")
    for batch in (64, 128, 256):
        reader.read_batch(crops[:batch])  # warm-up: oneDNN picks kernels per shape
        done, started, cpu = 0, time.perf_counter(), time.thread_time()
        while time.perf_counter() - started < args.seconds:
            reader.read_batch(crops[:batch])
            done += batch
        # the CPU time this thread spent is steadier than the clock where other work shares the cores
        rate, cpu_rate = done / (time.perf_counter() - started), done / (time.thread_time() - cpu)
        print(f"batch {batch:>3}: {rate:7.0f} plates/s ({cpu_rate:.0f} per CPU second of the reading thread)")
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
    if not args.no_nats:
        asyncio.run(through_nats(reader, crops, args.seconds))


async def through_nats(reader: PlateReader, crops: list[Image.Image], seconds: float) -> None:
    """p50/p95 of one plate at a time through NATS, serialization and the micro-batcher's wait included."""
    folder = Path(tempfile.mkdtemp(prefix="alpr-bench-"))
    server = EmbeddedNats(folder / "nats")
    server.start()
    try:
        service = await Bus.connect(server.url, name="recognizer")
        client = await Bus.connect(server.url, name="records")
        settings = RecognizerSettings()
        batcher = MicroBatcher(reader, max_batch=settings.max_batch, max_wait_ms=settings.max_wait_ms)
        await handlers.register(
            service, Recognizer(batcher, version=reader.version, max_image_bytes=settings.max_image_bytes)
        )
        await service.nc.flush()  # the subscription reaches the server before the first request
        bodies = []
        for crop in crops[:64]:
            buffer = io.BytesIO()
            crop.convert("RGB").save(buffer, format="JPEG", quality=85)
            bodies.append(RecognizeRequest(image_b64=base64.b64encode(buffer.getvalue()).decode()))
        for body in bodies[:10]:
            await client.call(RECOGNIZE, body)
        latencies: list[float] = []
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            t = time.perf_counter()
            await client.call(RECOGNIZE, bodies[len(latencies) % len(bodies)])
            latencies.append((time.perf_counter() - t) * 1000)
        cuts = statistics.quantiles(latencies, n=20)
        print(
            f"one plate through NATS (JPEG crop, max_wait_ms {settings.max_wait_ms}): p50 "
            f"{statistics.median(latencies):.2f} ms, p95 {cuts[18]:.2f} ms ({len(latencies)} requests)"
        )
        await client.close()
        await service.close()
        close = getattr(batcher, "close", None)
        if close is not None:
            await close()
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
