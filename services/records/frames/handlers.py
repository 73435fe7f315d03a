"""Frames' endpoint: `FRAME_STATUS`, a posted photograph's outcome for the camera that posted it."""

from __future__ import annotations

from typing import Any

from libs.common.contracts.frames import FRAME_STATUS, FrameStatus, FrameStatusRequest
from libs.common.db import UnitOfWork
from libs.common.endpoint import Endpoint
from services.records.frames import repository
from services.records.frames.service import pending


class FrameDesk:
    """Answers `FRAME_STATUS` from the frames table (migration 0010)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    async def status(self, request: FrameStatusRequest) -> FrameStatus:
        """The frame's outcome; `pending` while records has not stored it, or when another camera posted it
        (the gateway answers 404 for a frame it never accepted, so pending says nothing of another's frame)."""
        async with self.uow() as session:
            found = await repository.get_status(
                session, frame_id=request.frame_id, agency=request.agency, camera_id=request.camera_id
            )
        return found or pending(request.frame_id)


def routes(desk: FrameDesk) -> list[tuple[Endpoint[Any, Any], Any]]:
    """A posted photograph's outcome, with its handler."""
    return [(FRAME_STATUS, desk.status)]
