"""The gateway's side of posted photographs: each frame onto the FRAMES stream, then into gateway.frames.

JetStream's ack comes first: a frame is accepted once the stream holds it, under its frame id as the message id,
so a resend within the stream's duplicate window is held once. The row in gateway.frames comes second and says
which camera may ask for the frame's outcome; if it cannot be written the post is answered 503, and the camera's
retry (the same frame id) is deduplicated by the stream and inserted then. Rows older than a week go as new
ones arrive: a frame's outcome is asked for within seconds, and the table keeps nothing past that use.
"""

from __future__ import annotations

import base64
from datetime import datetime

from sqlalchemy.exc import DBAPIError

from libs.common.batch_publish import Outgoing
from libs.common.bus import Bus
from libs.common.contracts.frames import FrameIn
from libs.common.contracts.reads import ReadImage
from libs.common.db import UnitOfWork
from libs.common.errors import PayloadTooLarge, Unavailable
from libs.common.images import digest
from libs.common.streams import frames_subject
from services.gateway import repository
from services.gateway.ingest import frame_post
from services.gateway.read_bundles import HEADER_ROOM

FRAME_ROWS_KEPT_DAYS = 7


def frame_in(
    post: frame_post.FramePost,
    *,
    agency: str,
    camera_id: str,
    received_at: datetime,
    camera_position: tuple[float | None, float | None],
) -> FrameIn:
    """The stream's message for a checked post; a post without a position takes the camera's registered one."""
    latitude, longitude = post.latitude, post.longitude
    if latitude is None or longitude is None:
        latitude, longitude = camera_position
    return FrameIn(
        frame_id=frame_post.frame_id(agency, camera_id, post.data, post.captured_at),
        agency=agency,
        camera_id=camera_id,
        received_at=received_at,
        captured_at=post.captured_at,
        latitude=latitude,
        longitude=longitude,
        image=ReadImage(
            kind="overview",
            content_type=post.content_type,
            data_b64=base64.b64encode(post.data).decode("ascii"),
            digest=digest(post.data),
        ),
    )


async def publish_frame(bus: Bus, frame: FrameIn) -> bool:
    """Hand the frame to JetStream and wait for its ack; True when the stream already held it (a resend)."""
    message = Outgoing(frames_subject(frame.agency, frame.camera_id), frame.model_dump_json().encode(), frame.frame_id)
    limit = bus.nc.max_payload - HEADER_ROOM
    if len(message.payload) > limit:
        # refused on every retry: 413 now, never 503 forever
        raise PayloadTooLarge(f"the frame exceeds the bus's {limit} bytes", code="image_too_large", limit=limit)
    try:
        return await bus.publish_durable_many([message]) > 0
    except Unavailable as exc:
        raise Unavailable("the frame stream did not acknowledge; retry", code="bus_unavailable") from exc


async def record_frame(uow: UnitOfWork, frame: FrameIn) -> None:
    """Remember which camera posted the frame (once, whatever the resends); 503 when the table cannot be written."""
    try:
        async with uow() as session:
            await repository.note_frame(
                session,
                frame_id=frame.frame_id,
                agency=frame.agency,
                camera_id=frame.camera_id,
                kept_days=FRAME_ROWS_KEPT_DAYS,
            )
    except (DBAPIError, OSError) as exc:
        # the stream holds the frame; the camera's retry carries the same id and is recorded then
        raise Unavailable("the frame could not be recorded; retry", code="frame_not_recorded") from exc


async def camera_owns_frame(uow: UnitOfWork, *, frame_id: str, agency: str, camera_id: str) -> bool:
    """Whether this camera posted this frame within the week the gateway remembers frames."""
    async with uow() as session:
        return await repository.camera_posted_frame(
            session, frame_id=frame_id, agency=agency, camera_id=camera_id, kept_days=FRAME_ROWS_KEPT_DAYS
        )
