"""The gateway's alert endpoints (`ALERT_*`): lists, details, verifications, dispositions and figures."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.common.audit_trail import ChangeRecorder
from libs.common.contracts.alerts import (
    ALERT_DISPOSE,
    ALERT_FIGURES,
    ALERT_GET,
    ALERT_IMAGE_VIEWED,
    ALERT_LIST,
    ALERT_REOPEN,
    ALERT_VERIFY,
    Alert,
    AlertFigures,
    AlertImageViewed,
    AlertLookup,
    AlertPage,
    AlertQuery,
    DispositionIn,
    FiguresQuery,
    ImageViewStored,
    ReopeningIn,
    VerificationIn,
)
from libs.common.db import UnitOfWork
from libs.common.endpoint import Endpoint
from libs.common.errors import NotFound
from libs.common.validation import retention_cutoff
from services.records.alerts import repository
from services.records.alerts.service import (
    action_record,
    check_disposition,
    check_reopening,
    judge,
)


class AlertDesk:
    """Lists, details, verifications, dispositions and figures; a change commits only with its record.

    An alert older than the retention period exists only because a legal hold keeps its read (the purge
    deletes the others with their reads): like the held read, which only its case's searches find, it is
    no longer served here, to any officer, as if it were current (B1, B2)."""

    def __init__(self, uow: UnitOfWork, changes: ChangeRecorder, *, active_retention_days: int) -> None:
        self.uow = uow
        self.changes = changes
        self.active_retention_days = active_retention_days

    def _served_from(self) -> datetime:
        """The purge's cutoff: an alert on a read captured before it is kept only for a hold's case."""
        return retention_cutoff(datetime.now(UTC), self.active_retention_days)

    async def list_alerts(self, query: AlertQuery) -> AlertPage:
        async with self.uow() as session:
            rows = await repository.list_alerts(
                session, status=query.status, since=query.since, limit=query.limit, captured_from=self._served_from()
            )
            ids = [r["alert_id"] for r in rows]
            checks = await repository.verifications_of(session, alert_ids=ids)
            reopened = await repository.reopenings_of(session, alert_ids=ids)
        return AlertPage(
            alerts=[_alert(r, checks.get(r["alert_id"], []), reopened.get(r["alert_id"], [])) for r in rows]
        )

    async def get_alert(self, lookup: AlertLookup) -> Alert:
        async with self.uow() as session:
            return await _load(session, lookup.alert_id, served_from=self._served_from())

    async def image_viewed(self, view: AlertImageViewed) -> ImageViewStored:
        """Keep an officer's look at the image (already recorded by the gateway), for the verification to name."""
        async with self.uow() as session:
            alert = await _load(session, view.alert_id, served_from=self._served_from())
            view_id = await repository.add_image_view(
                session,
                alert_id=alert.alert_id,
                officer_sub=view.officer_sub,
                event_ids=view.event_ids,
                at=datetime.now(UTC),
                kind=view.image_kind,
            )
        return ImageViewStored(view_id=view_id)

    async def verify(self, request: VerificationIn) -> Alert:
        """E2: the officer's check decides between confirmed and investigate only; nothing is automatic."""
        async with self.changes(request.audit) as change:
            session = change.session
            alert = await _load(session, request.alert_id, lock=True, served_from=self._served_from())
            # a view from before a supervisor's reopening does not count: the officer looks again
            since = alert.reopenings[-1].reopened_at if alert.reopenings else None
            view_id = await repository.latest_image_view(
                session, alert_id=alert.alert_id, officer_sub=request.officer_sub, since=since
            )
            has_image = await repository.read_has_image(session, read_id=alert.read_id)
            # the list and entry as they are now, not as they were when the alert was raised (E4)
            standing = await repository.entry_standing(
                session, hotlist_id=alert.entry.hotlist_id, entry_id=alert.entry.entry_id
            )
            fields = judge(
                alert, request, has_image=has_image, view_id=view_id, standing=standing, now=datetime.now(UTC)
            )
            fields |= {
                "vehicle_matches": request.vehicle_matches,
                "other_source_checked": request.other_source_checked,
                "notes": request.notes,
            }
            await repository.add_verification(
                session, alert_id=alert.alert_id, officer_sub=request.officer_sub, at=datetime.now(UTC), fields=fields
            )
            checked = await _load(session, request.alert_id, served_from=self._served_from())
            latest = checked.verifications[-1].model_dump(mode="json", exclude={"officer_sub"})
            change.complete(**action_record(checked, latest))
        return checked

    async def reopen(self, request: ReopeningIn) -> Alert:
        """A supervisor sends an investigate-only alert back to pending; committed only with its record."""
        async with self.changes(request.audit) as change:
            session = change.session
            alert = await _load(session, request.alert_id, lock=True, served_from=self._served_from())
            check_reopening(alert)
            await repository.add_reopening(
                session,
                alert_id=alert.alert_id,
                supervisor_sub=request.supervisor_sub,
                at=datetime.now(UTC),
                reason=request.reason,
            )
            reopened = await _load(session, request.alert_id, served_from=self._served_from())
            change.complete(**action_record(reopened, {"reason": request.reason}))
        return reopened

    async def dispose(self, request: DispositionIn) -> Alert:
        async with self.changes(request.audit) as change:
            session = change.session
            alert = await _load(session, request.alert_id, lock=True, served_from=self._served_from())
            check_disposition(alert, request.code)
            await repository.dispose(
                session,
                alert_id=alert.alert_id,
                code=request.code,
                officer_sub=request.officer_sub,
                at=datetime.now(UTC),
            )
            disposed = await _load(session, request.alert_id, served_from=self._served_from())
            change.complete(**action_record(disposed, {}))
        return disposed

    async def figures(self, query: FiguresQuery) -> AlertFigures:
        async with self.uow() as session:
            rows = await repository.figures(session, since=query.since)
        by_match: dict[str, int] = {}
        by_disposition: dict[str, int] = {}
        for r in rows:
            by_match[r["match_type"]] = by_match.get(r["match_type"], 0) + r["n"]
            if r["disposition"]:
                by_disposition[r["disposition"]] = by_disposition.get(r["disposition"], 0) + r["n"]
        return AlertFigures(
            alerts=sum(r["n"] for r in rows),
            by_match_type=by_match,
            by_disposition=by_disposition,
            misreads=by_disposition.get("misread", 0),
            pending=sum(r["n"] for r in rows if r["status"] != "closed"),
        )


def routes(desk: AlertDesk) -> list[tuple[Endpoint[Any, Any], Any]]:
    """The alert endpoints records answers, each with its handler."""
    return [
        (ALERT_LIST, desk.list_alerts),
        (ALERT_GET, desk.get_alert),
        (ALERT_IMAGE_VIEWED, desk.image_viewed),
        (ALERT_VERIFY, desk.verify),
        (ALERT_REOPEN, desk.reopen),
        (ALERT_DISPOSE, desk.dispose),
        (ALERT_FIGURES, desk.figures),
    ]


async def _load(session: AsyncSession, alert_id: str, *, served_from: datetime, lock: bool = False) -> Alert:
    row = await repository.get_alert(session, alert_id=alert_id, lock=lock, captured_from=served_from)
    if row is None:
        raise NotFound("no such alert", code="alert_not_found")
    checks = await repository.verifications_of(session, alert_ids=[alert_id])
    reopened = await repository.reopenings_of(session, alert_ids=[alert_id])
    return _alert(row, checks.get(alert_id, []), reopened.get(alert_id, []))


def _alert(row: dict[str, Any], verifications: list[dict[str, Any]], reopenings: list[dict[str, Any]]) -> Alert:
    return Alert.model_validate(
        {
            **repository.body_of(row),
            "status": row["status"],
            "disposition": row["disposition"],
            "disposed_at": row["disposed_at"],
            "disposed_by": row["disposed_by"],
            "verifications": verifications,
            "reopenings": reopenings,
        }
    )
