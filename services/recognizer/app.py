"""Recognizer: loads the shipped reader and detector (or refuses to start), then serves RECOGNIZE and READ_FRAME."""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI

from libs.common.bus import Bus
from libs.common.telemetry import setup_tracing
from libs.common.web import ServiceState, install_common
from services.recognizer import handlers
from services.recognizer.detector import PlateDetector
from services.recognizer.engine.reader import PlateReader
from services.recognizer.frames import service_finder
from services.recognizer.service import Recognizer
from services.recognizer.settings import RecognizerSettings


@dataclass(kw_only=True)
class RecognizerState(ServiceState):
    """What the recognizer process owns (no database), built in its lifespan."""

    settings: RecognizerSettings
    recognizer: Recognizer


def create_app(settings: RecognizerSettings | None = None) -> FastAPI:
    """Build the recognizer app; the models load in the lifespan, so a bad weights file stops start-up."""
    cfg = settings or RecognizerSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        reader = PlateReader.load(cfg.weights_path, threads=cfg.torch_threads, precision=cfg.reader_precision)
        detector = PlateDetector.load(cfg.detector_weights_path, threads=cfg.torch_threads)
        # one inference thread for both models: torch already spreads each pass over every core it is given
        inference = ThreadPoolExecutor(max_workers=1, thread_name_prefix="recognizer-inference")
        finder = service_finder(detector, reader, cfg, inference)
        batcher = finder.readings
        try:
            bus = await Bus.connect(
                cfg.nats_url,
                name="recognizer",
                user=cfg.nats_user,
                password=cfg.nats_password.get_secret_value() if cfg.nats_password else None,
            )
            recognizer = Recognizer(
                batcher,
                version=reader.version,
                max_image_bytes=cfg.max_image_bytes,
                max_image_pixels=cfg.max_image_pixels,
                finder=finder,
                state_prior=reader.for_state,
            )
            await handlers.register(bus, recognizer)
            app.state.runtime = RecognizerState(service="recognizer", bus=bus, settings=cfg, recognizer=recognizer)
            try:
                yield
            finally:
                await bus.close()
        finally:
            await finder.close()
            inference.shutdown(wait=True)

    app = FastAPI(title="ALPR recognizer", lifespan=lifespan)
    install_common(app, "recognizer")
    setup_tracing(app, "recognizer", cfg)
    return app
