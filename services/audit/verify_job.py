"""The periodic verification of the whole access log, so AlprAuditVerifyFailed can fire without anyone asking.

One replica verifies each round (a PostgreSQL advisory lock; the others skip). verify_session reads in chunks
and hashes on a thread, so the writer keeps its share of the database and the event loop. A round that cannot
run (the database down) is logged and leaves the gauges as they were: "unknown", never "failed".
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from libs.common import metrics
from libs.common.bus import Bus
from libs.common.db import UnitOfWork
from libs.common.drain import Drain
from libs.common.tasks import cancelled
from services.audit.repository.chain import try_verify_lock
from services.audit.verification import verify_session

log = logging.getLogger(__name__)


class RoundOutcome(StrEnum):
    """What one round of the periodic verification did."""

    PASSED = "passed"
    FAILED = "failed"  # the log is not what was written: AlprAuditVerifyFailed pages
    SKIPPED = "skipped"  # another replica holds the lock
    NOT_RUN = "not_run"  # the job itself failed (database down); the next round tries again


class VerifyJob:
    """Verifies the log every `interval_s` with the service's public keys and, when the bus is up, the stream."""

    def __init__(
        self,
        uow: UnitOfWork,
        public_keys: Sequence[Ed25519PublicKey],
        *,
        bus: Bus | None,
        interval_s: float,
    ) -> None:
        self.uow = uow
        self.public_keys = list(public_keys)
        self.bus = bus
        self.interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self, drain: Drain) -> None:
        self._task = asyncio.create_task(self._periodic(drain))

    async def stop(self) -> None:
        await cancelled(self._task)

    async def _periodic(self, drain: Drain) -> None:
        """Each round after a full interval (a restart loop must not become a verification loop) until drain."""
        while await drain.unless_draining(asyncio.sleep(self.interval_s, result=True)):
            # a round is read-only: drain cancels it, its transaction rolls back and the lock goes with it
            await drain.unless_draining(self.run_round())

    async def run_round(self) -> RoundOutcome:
        """One round: take the lock or skip, verify, set the gauges and log the outcome."""
        started = time.monotonic()
        try:
            async with self.uow() as session:
                if not await try_verify_lock(session):
                    log.info("another audit replica is verifying the access log; skipping this round")
                    return RoundOutcome.SKIPPED
                witness = self.bus.js if self.bus is not None and self.bus.connected else None
                async with self.uow() as second:
                    report = await verify_session(session, self.public_keys, witness=witness, second=second)
        except Exception as exc:
            log.warning(
                "the periodic access log verification could not run (%s: %s); it tries again in %.0f s",
                type(exc).__name__,
                exc,
                self.interval_s,
            )
            return RoundOutcome.NOT_RUN
        elapsed = time.monotonic() - started
        metrics.AUDIT_VERIFY_DURATION.set(elapsed)
        if not report["ok"]:
            _log_failure(report["first_failure"])
            return RoundOutcome.FAILED
        metrics.AUDIT_VERIFY_LAST_SUCCESS.set(time.time())
        if report["stream_error"]:
            log.warning("access log verified without its end held against the stream: %s", report["stream_error"])
        log.info(
            "access log verified: %d records, %d checkpoints in %.3f s",
            report["records_checked"],
            report["checkpoints_checked"],
            elapsed,
        )
        return RoundOutcome.PASSED


def _log_failure(failure: dict[str, Any] | None) -> None:
    """The reason and place only: seq, event id and the verifier's detail, which never quote a record."""
    if failure is None:
        log.error("the access log failed verification (no failure named)")
        return
    log.error(
        "the access log failed verification: %s at seq %s (event %s): %s",
        failure["reason"],
        failure["seq"],
        failure["event_id"],
        failure["detail"],
    )
