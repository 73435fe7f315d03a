"""Alerts raised at ingest: matched before the insert, stored in the batch's transaction, published after commit."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.common import metrics
from libs.common.bus import Bus
from libs.common.contracts.alerts import AlertMessage
from libs.common.db import UnitOfWork
from libs.common.streams import alerts_subject
from services.records.alerts import repository
from services.records.alerts.service import build_alert, by_listed_plate, corrected_read, texts_of
from services.records.hotlists import repository as hotlists_repository
from services.records.hotlists.follower import HotlistFollower
from services.records.hotlists.matching import Hit
from services.records.models import Read
from services.records.service import ReadRow

log = logging.getLogger(__name__)


@dataclass
class MatchedRow:
    """A read that hit at least one active entry, with its hits."""

    row: ReadRow
    hits: list[Hit]

    def without(self, listed_plates: set[str]) -> MatchedRow:
        """The same read without its hits on these listed plates (an alert for them exists already)."""
        return MatchedRow(self.row, [hit for hit in self.hits if hit.entry_plate not in listed_plates])


class AlertRaiser:
    """Matches a batch before insert, stores its alerts in the batch's transaction, publishes after commit."""

    def __init__(self, bus: Bus, follower: HotlistFollower) -> None:
        self.bus = bus
        self.follower = follower
        self.match_seconds = 0.0  # time spent matching, for the throughput figure

    async def match(self, session: AsyncSession, rows: Sequence[ReadRow]) -> tuple[list[MatchedRow], int]:
        """Mark each read that hits an active entry; a state mismatch is kept on the hit, not dropped.

        The index first applies every change committed so far: the NATS notice is at-most-once and the
        poll runs every few seconds, so without this a replica could miss an entry added moments before
        the read (a missed alert). When nothing changed this is one indexed query, in the batch's transaction.
        """
        await self.follower.catch_up(session)
        return self.match_indexed(rows)

    def match_indexed(self, rows: Sequence[ReadRow]) -> tuple[list[MatchedRow], int]:
        """Mark each read by the index as it stands; returns the hits and the last change the index applied.

        Ingest's store then refuses the reads if an entry changed after that one (`store_reads`), and only
        then does the batch catch up and match again (`match`): the same guarantee without a query first.
        """
        seen = self.follower.last_seq  # no await until the matching is done: the index is as of this change
        now = datetime.now(UTC)
        started = time.perf_counter()
        index = self.follower.index
        matched = []
        for row in rows:
            hits = index.match(texts_of(row), row.read.state, now)
            # set either way: matched again after a change, a read may no longer hit a removed entry
            row.hotlist_hit = bool(hits)
            if hits:
                matched.append(MatchedRow(row, hits))
        self.match_seconds += time.perf_counter() - started
        return matched, seen

    async def store(
        self, session: AsyncSession, matched: Sequence[MatchedRow], new_ids: set[str], now: datetime
    ) -> list[AlertMessage]:
        """Store the alerts of newly stored reads; returns them, to publish after the commit."""
        fresh = [m for m in matched if m.row.read.read_id in new_ids]
        entries = await hotlists_repository.entries_with_lists(
            session, entry_ids=sorted({int(hit.entry_id) for m in fresh for hit in m.hits})
        )
        alerts = []
        for m in fresh:
            # an entry removed since the index saw it raises nothing; the others listing its plate share one alert
            listed = by_listed_plate([hit for hit in m.hits if int(hit.entry_id) in entries])
            alerts += [build_alert(m.row, hits, entries, now) for hits in listed.values()]
        await repository.insert_alerts(session, alerts)
        return alerts

    async def store_for_correction(self, session: AsyncSession, version: Read, hits: list[Hit]) -> list[AlertMessage]:
        """Alerts for a corrected version whose plate is listed, stored in the correction's transaction.

        One per listed plate that no version of the read alerted on yet: a misread that already raised the
        alert keeps it, with its verification, rather than the officer being asked twice."""
        if not hits:
            return []
        assert version.supersedes is not None  # a corrected version always replaces one
        alerted = await repository.listed_plates_alerted(
            session, read_id=str(version.supersedes), captured_at=version.captured_at
        )
        fresh = [hit for hit in hits if hit.entry_plate not in alerted]
        entries = await hotlists_repository.entries_with_lists(
            session, entry_ids=sorted({int(hit.entry_id) for hit in fresh})
        )
        listed = by_listed_plate([hit for hit in fresh if int(hit.entry_id) in entries])
        if not listed:
            return []
        row = ReadRow(read=corrected_read(version))
        kinds = await repository.image_kinds(session, read_id=str(version.read_id), captured_at=version.captured_at)
        now = datetime.now(UTC)
        alerts = [build_alert(row, group, entries, now, image_kinds=kinds) for group in listed.values()]
        await repository.insert_alerts(session, alerts)
        return alerts

    async def hand_over_previews(
        self, session: AsyncSession, rows: Sequence[ReadRow], matched: Sequence[MatchedRow], new_ids: set[str]
    ) -> list[MatchedRow]:
        """One vehicle, one alert: the hits to raise alerts for, once the previews newly stored finals replace
        have given their alerts over.

        A preview replaced in this very batch raises none (it is dropped with the batch). A preview stored
        earlier that alerted on a plate the final also hits hands that alert to the final (its id kept, now
        naming the final's read and image), and the final raises none for that plate. An alert on a plate the
        final does not hit stays with its preview, which is then kept (`drop_superseded_previews`)."""
        finals = [r for r in rows if r.read.replaces and r.read.read_id in new_ids]
        if not finals:
            return list(matched)
        replaced_now = {p for r in finals for p in r.read.replaces}
        hits_of = {m.row.read.read_id: {hit.entry_plate for hit in m.hits} for m in matched}
        alerted = await repository.alerted_previews(session, preview_ids=sorted(replaced_now))
        handed: dict[str, set[str]] = {}
        handovers = []
        for row in finals:
            final = row.read.read_id
            for preview in row.read.replaces:
                for plate in sorted(alerted.get(preview, set()) & hits_of.get(final, set())):
                    handovers.append((preview, final, row.read.captured_at, plate))
                    handed.setdefault(final, set()).add(plate)
        await repository.hand_over_alerts(session, handovers=handovers)
        return [
            m.without(handed[m.row.read.read_id]) if m.row.read.read_id in handed else m
            for m in matched
            if m.row.read.read_id not in replaced_now
        ]

    async def unpublished(self, session: AsyncSession, read_ids: Sequence[str]) -> list[AlertMessage]:
        """Alerts stored with redelivered reads and not yet published, whether or not they match now."""
        return await repository.unpublished_for_reads(session, read_ids=read_ids)

    async def publish_committed(self, uow: UnitOfWork, alerts: Sequence[AlertMessage]) -> None:
        """Publish alerts whose change has committed and answered no redelivery (a correction's): a failure is
        logged, not raised, as the alert stands stored and listed (`ALERT_LIST`), the change is done, and the
        sweep (`sweeper.py`) publishes it later."""
        try:
            await self.publish(uow, alerts)
        except Exception:  # the bus or the mark failed after the commit; nothing to undo
            log.exception("alerts stored but not published: %s", [a.alert_id for a in alerts])

    async def publish(self, uow: UnitOfWork, alerts: Sequence[AlertMessage]) -> None:
        """Publish on ALERTS (deduplicated by alert id) and mark them; a failure leaves them for redelivery."""
        if not alerts:
            return
        await asyncio.gather(
            *(
                self.bus.publish_durable(alerts_subject(a.agency), a.model_dump_json().encode(), msg_id=a.alert_id)
                for a in alerts
            )
        )
        for alert in alerts:
            metrics.ALERTS.labels(alert.match_type).inc()
        async with uow() as session:
            await repository.mark_published(session, alert_ids=[a.alert_id for a in alerts], at=datetime.now(UTC))
