"""What the audit unit asks of the log: records, proofs, verification, samples, findings, anomalies, completeness."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives import serialization
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.common.audit_trail import ChangeRecorder
from libs.common.bus import Bus
from libs.common.contracts import auditing as c
from libs.common.errors import InvalidInput, NotFound, Unavailable
from services.audit import repository
from services.audit.flows import AuditWriter
from services.audit.ledger.anomalies import flag_anomalies
from services.audit.ledger.checkpoints import Checkpoint
from services.audit.ledger.merkle import consistency_proof, inclusion_proof
from services.audit.ledger.sampling import DrawnSample, draw_sample, new_seed
from services.audit.models import AccessRecord, AuditFinding, AuditSample, AuditSampleItem
from services.audit.service import completeness, latest_findings, search_summary
from services.audit.settings import AuditSettings
from services.audit.verification import verify_session

TALLY_TIMEOUT_S = 5.0


def _checkpoint_out(checkpoint: Checkpoint) -> c.CheckpointOut:
    return c.CheckpointOut(
        tree_size=checkpoint.tree_size,
        root_hash=checkpoint.root_hash,
        signed_at=checkpoint.timestamp,
        key_id=checkpoint.key_id,
        signature=checkpoint.signature,
    )


def _stored(row: AccessRecord) -> c.StoredRecord:
    return c.StoredRecord(
        seq=row.seq,
        event_id=row.event_id,
        event_type=row.event_type,
        occurred_at=row.occurred_at,
        recorded_at=row.recorded_at,
        actor=json.loads(row.actor),
        payload=json.loads(row.payload),
        actor_json=row.actor,
        payload_json=row.payload,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


class AuditorDesk:
    """What the gateway asks on behalf of an auditor; a sample or finding commits with its access record."""

    def __init__(self, settings: AuditSettings, changes: ChangeRecorder, bus: Bus, writer: AuditWriter) -> None:
        self.settings = settings
        self.changes = changes
        self.uow = changes.uow
        self.bus = bus
        self.writer = writer
        self.tz = ZoneInfo(settings.audit_timezone)

    async def records(self, query: c.RecordsQuery) -> c.RecordsPage:
        """One page of records matching the filters; `next_after_seq` continues an export."""
        filters = query.model_dump(exclude={"limit"})
        async with self.uow() as session:
            rows = await repository.find_records(session, **filters, limit=query.limit)
        following = rows[-1].seq if len(rows) == query.limit else None
        return c.RecordsPage(records=[_stored(r) for r in rows], next_after_seq=following)

    async def checkpoints(self, query: c.CheckpointsQuery) -> c.CheckpointsReply:
        async with self.uow() as session:
            found = await repository.list_checkpoints(session, limit=query.limit)
        keys = [
            base64.b64encode(k.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)).decode()
            for k in self.settings.verification_keys()
        ]
        return c.CheckpointsReply(checkpoints=[_checkpoint_out(x) for x in found], public_keys=keys)

    async def inclusion(self, query: c.InclusionQuery) -> c.InclusionProof:
        """PATH of the record in a signed tree; a record newer than every checkpoint gets one signed now."""
        async with self.uow() as session:
            row = await repository.find_record(session, event_id=query.event_id)
        if row is None:
            raise NotFound("no such record", code="record_not_found")
        seq = row.seq
        async with self.uow() as session:
            checkpoint = await repository.find_checkpoint(session, tree_size=query.tree_size, covering=seq)
        if checkpoint is None and query.tree_size is None:
            await self.writer.checkpoint_tick(force=True)
            async with self.uow() as session:
                checkpoint = await repository.find_checkpoint(session, tree_size=None, covering=seq)
        if checkpoint is None and self.writer.refusal is not None:
            # the unsigned end of the log differs from the AUDIT stream: signing it would bless a rewrite
            raise Unavailable(
                "checkpoints are stopped: the unsigned end of the log differs from the AUDIT stream",
                code="audit_checkpoints_stopped",
            )
        if checkpoint is None:
            raise NotFound("no signed checkpoint covers this record", code="checkpoint_not_found")
        async with self.uow() as session:
            leaves = await repository.chain_hashes(session, after_seq=0, upto_seq=checkpoint.tree_size)
        proof = inclusion_proof(leaves, seq - 1, checkpoint.tree_size)
        return c.InclusionProof(
            record=_stored(row),
            leaf_index=seq - 1,
            tree_size=checkpoint.tree_size,
            proof=[p.hex() for p in proof],
            checkpoint=_checkpoint_out(checkpoint),
        )

    async def consistency(self, query: c.ConsistencyQuery) -> c.ConsistencyProof:
        """PROOF that the older signed tree is a prefix of the newer one."""
        if query.old_size > query.new_size:
            raise InvalidInput("the old checkpoint must not be larger than the new one", code="invalid_sizes")
        async with self.uow() as session:
            old = await repository.find_checkpoint(session, tree_size=query.old_size)
            new = await repository.find_checkpoint(session, tree_size=query.new_size)
            if old is None or new is None:
                raise NotFound("both sizes must be signed checkpoints", code="checkpoint_not_found")
            leaves = await repository.chain_hashes(session, after_seq=0, upto_seq=new.tree_size)
        proof = consistency_proof(leaves, old.tree_size, new.tree_size)
        return c.ConsistencyProof(old=_checkpoint_out(old), new=_checkpoint_out(new), proof=[p.hex() for p in proof])

    async def verify(self, query: c.VerifyQuery) -> c.VerifyOutcome:
        async with self.uow() as session, self.uow() as second:
            keys = self.settings.verification_keys()
            report = await verify_session(session, keys, witness=self.bus.js, second=second)
        return c.VerifyOutcome(**report)

    async def draw(self, request: c.SampleRequest) -> c.SampleOut:
        """Draw and record a sample; the seed is stored with it so anyone can draw it again."""
        seed = request.seed if request.seed is not None else new_seed()
        sample_id = str(uuid.uuid4())
        async with self.changes(request.audit) as change:
            session = change.session
            drawn = await self._draw(
                session, seed, request.period_start, request.period_end, request.size, request.stratum_size
            )
            sample = AuditSample(
                sample_id=sample_id,
                seed=seed,
                period_start=request.period_start,
                period_end=request.period_end,
                size=drawn.size,
                stratum_size=drawn.stratum_size,
                population=drawn.population,
                drawn_by=request.drawn_by,
                drawn_at=datetime.now(UTC),
            )
            items = [
                AuditSampleItem(sample_id=sample_id, position=n, event_id=i.search.event_id, stratum=str(i.stratum))
                for n, i in enumerate(drawn.items)
            ]
            await repository.insert_sample(session, sample=sample, items=items)
            change.complete(
                query={**(request.audit.query if request.audit else {}), "seed": seed, "sample_id": sample_id},
                result_count=len(items),
                result_ids=[i.event_id for i in items],
            )
        return await self.sample(c.SampleLookup(sample_id=sample_id))

    async def _draw(
        self, session: AsyncSession, seed: int, start: datetime, end: datetime, size: int, stratum_size: int | None
    ) -> DrawnSample:
        rows = await repository.search_summaries(session, since=start, until=end)
        return draw_sample(
            [search_summary(r) for r in rows],
            seed=seed,
            period_start=start,
            period_end=end,
            size=size,
            stratum_size=stratum_size,
            tz=self.tz,
        )

    async def sample(self, lookup: c.SampleLookup) -> c.SampleOut:
        """A recorded sample; with `redraw`, drawn again from its seed and compared."""
        async with self.uow() as session:
            row = await repository.get_sample(session, sample_id=lookup.sample_id)
            if row is None:
                raise NotFound("no such sample", code="sample_not_found")
            items = await repository.sample_items(session, sample_id=lookup.sample_id)
            reproduced = None
            if lookup.redraw:
                again = await self._draw(
                    session, row.seed, row.period_start, row.period_end, row.size, row.stratum_size
                )
                drawn = [(i.search.event_id, str(i.stratum)) for i in again.items]
                reproduced = drawn == [(i.event_id, i.stratum) for i in items]
        return c.SampleOut(
            **row.model_dump(), items=[c.SampleItem(**i.model_dump()) for i in items], reproduced=reproduced
        )

    async def finding(self, finding: c.FindingIn) -> c.FindingOut:
        """Record a finding on a sampled search; a later finding on the same search supersedes it."""
        async with self.changes(finding.audit) as change:
            items = await repository.sample_items(change.session, sample_id=finding.sample_id)
            if finding.event_id not in {i.event_id for i in items}:
                raise NotFound("that search is not in this sample", code="sample_item_not_found")
            fields = finding.model_dump(exclude={"audit"})
            out = c.FindingOut(**fields, finding_id=str(uuid.uuid4()), recorded_at=datetime.now(UTC))
            await repository.insert_finding(change.session, finding=AuditFinding(**out.model_dump()))
        return out

    async def report(self, query: c.ReportQuery) -> c.SampleReport:
        sample = await self.sample(c.SampleLookup(sample_id=query.sample_id))
        async with self.uow() as session:
            findings = await repository.sample_findings(session, sample_id=query.sample_id)
        standing = latest_findings(findings)
        totals = {verdict: 0 for verdict in ("compliant", "violation", "needs_follow_up")}
        for finding in standing.values():
            totals[finding.verdict] += 1
        unreviewed = [i.event_id for i in sample.items if i.event_id not in standing]
        return c.SampleReport(
            sample=sample,
            findings=[c.FindingOut(**f.model_dump()) for f in findings],
            totals=totals,
            reviewed=len(standing),
            unreviewed=unreviewed,
        )

    async def anomalies(self, query: c.AnomaliesQuery) -> c.AnomaliesReply:
        async with self.uow() as session:
            rows = await repository.search_summaries(session, since=query.since, until=query.until)
        flags = flag_anomalies([search_summary(r) for r in rows], tz=self.tz)
        return c.AnomaliesReply(
            flags=[
                c.AnomalyOut(
                    kind=str(f.kind),
                    actor_sub=f.actor_sub,
                    count=f.count,
                    event_ids=list(f.event_ids),
                    detail=f.detail,
                    plate=f.plate,
                    day=f.day,
                )
                for f in flags
            ]
        )

    async def completeness(self, query: c.CompletenessQuery) -> c.CompletenessReport:
        """A5: ask the gateway for its tally of the day, count the records, store and return the difference."""
        tally = await self.bus.call(c.TALLY, c.TallyQuery(day=query.day), timeout=TALLY_TIMEOUT_S)
        async with self.uow() as session:
            counted = await repository.count_by_day(session, day=query.day, event_types=tally.counted_types)
            differences = completeness(tally.counts, counted, tally.counted_types)
            await repository.insert_completeness(
                session,
                day=query.day,
                ok=not differences,
                gateway=json.dumps(tally.counts, sort_keys=True),
                audit_log=json.dumps(counted, sort_keys=True),
                differences=json.dumps(differences, sort_keys=True),
            )
        return c.CompletenessReport(
            day=query.day, ok=not differences, gateway=tally.counts, audit_log=counted, differences=differences
        )
