"""`CORRECTION_CREATE` → a new version of a misread read (G3), and an alert where the corrected plate is listed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from libs.common.audit_trail import ChangeRecorder
from libs.common.contracts.holds import CORRECTION_CREATE, CorrectionReply, CorrectionRequest
from libs.common.contracts.reads import normalize_plate, plate_is_acceptable
from libs.common.endpoint import Endpoint
from libs.common.errors import Conflict, InvalidInput, NotFound
from services.records.alerts.flows import AlertRaiser
from services.records.corrections import repository
from services.records.hotlists.matching import TextOrigin
from services.records.lookalike import LookalikeClasses, lookalike_key


class CorrectionDesk:
    """The gateway has checked who corrects; the correction commits only with its access record.

    A corrected plate that is listed raises its alert as a camera's read would (E1): the officer read the
    plate off the image, but the hit still goes to the verification every alert needs (E2)."""

    def __init__(self, changes: ChangeRecorder, classes: LookalikeClasses, alerts: AlertRaiser) -> None:
        self.changes = changes
        self.classes = classes
        self.alerts = alerts

    async def create(self, request: CorrectionRequest) -> CorrectionReply:
        """Only the newest version is corrected, so versions form one chain."""
        plate = normalize_plate(request.plate)
        if not plate_is_acceptable(plate):
            raise InvalidInput("the corrected plate is not a plate", code="invalid_plate")
        try:
            read_id = str(uuid.UUID(request.read_id))
        except ValueError as exc:
            raise NotFound("no such read", code="read_not_found") from exc
        async with self.changes(request.audit) as change:
            session = change.session
            current = await repository.current_version(session, read_id=read_id)
            if current is None:
                raise NotFound("no such read", code="read_not_found")
            if current.superseded_by is not None:
                raise Conflict(
                    "this version was already corrected; correct the newest one",
                    code="read_superseded",
                    newest=str(current.superseded_by),
                )
            state = request.state.upper() if request.state else None
            # ingest's index, caught up in this transaction: the corrected plate is matched as a read's would be
            await self.alerts.follower.catch_up(session)
            listed = self.alerts.follower.index.match(
                [(plate, TextOrigin.CORRECTION.value)], state or current.state, datetime.now(UTC)
            )
            version = await repository.add_version(
                session,
                read_id=read_id,
                new_id=str(uuid.uuid4()),
                plate=plate,
                lookalike_key=lookalike_key(plate, self.classes),
                state=state,
                # a read that raised a hit keeps it (its alert and verification rest on it); one corrected to a
                # listed plate becomes one. Every version of the read says the same, so B5 keeps or caps them all
                hotlist_hit=current.hotlist_hit or bool(listed),
            )
            raised = await self.alerts.store_for_correction(session, version, listed)
            reply = CorrectionReply(
                read_id=str(version.read_id),
                supersedes=str(version.supersedes),
                version=version.version,
                plate=plate,  # the plate the new version stores
                state=version.state,
                alert_ids=[alert.alert_id for alert in raised],
            )
            change.complete(
                query={"read_id": read_id, "plate": reply.plate, "state": reply.state},
                result_count=1,
                result_ids=[reply.read_id],
                details={"supersedes": reply.supersedes, "version": reply.version, "alert_ids": reply.alert_ids},
            )
        # stored with the correction: the alert desk lists it even if this publication fails (it is logged)
        await self.alerts.publish_committed(self.changes.uow, raised)
        return reply


def routes(desk: CorrectionDesk) -> list[tuple[Endpoint[Any, Any], Any]]:
    """The correction endpoint records answers, with its handler."""
    return [(CORRECTION_CREATE, desk.create)]
