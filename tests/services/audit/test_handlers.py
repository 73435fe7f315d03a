"""Audit's route table: every endpoint declared for the audit queue is answered, each by one handler."""

from __future__ import annotations

from libs.common.contracts import audit, auditing, oversight, transparency
from libs.common.endpoint import Endpoint
from services.audit.flows import AuditWriter
from services.audit.handlers import AuditorDesk, FigureDesk, RecordLookups, routes


def declared_for_audit() -> set[Endpoint]:  # type: ignore[type-arg]
    modules = (audit, auditing, oversight, transparency)
    return {e for m in modules for e in vars(m).values() if isinstance(e, Endpoint) and e.queue == "audit"}


def table() -> list:  # type: ignore[type-arg]
    # bound methods are all the table needs: no connection, no settings
    return routes(
        AuditWriter.__new__(AuditWriter),
        RecordLookups.__new__(RecordLookups),
        AuditorDesk.__new__(AuditorDesk),
        FigureDesk.__new__(FigureDesk),
    )


class TestRouteTable:
    def test_every_endpoint_of_the_audit_queue_is_answered_once(self) -> None:
        endpoints = [route.endpoint for route in table()]
        assert len(endpoints) == len(set(endpoints))
        assert set(endpoints) == declared_for_audit()

    def test_subjects_stay_the_wire_protocol(self) -> None:
        # ARCHITECTURE.md and the deployment's NATS permissions name these subjects
        assert {e.subject for e in declared_for_audit()} == {
            "alpr.audit.persisted",
            "alpr.audit.event",
            "alpr.audit.flags",
            "alpr.audit.records",
            "alpr.audit.checkpoints",
            "alpr.audit.proof.inclusion",
            "alpr.audit.proof.consistency",
            "alpr.audit.verify",
            "alpr.audit.samples.draw",
            "alpr.audit.samples.get",
            "alpr.audit.findings.record",
            "alpr.audit.report",
            "alpr.audit.anomalies",
            "alpr.audit.completeness",
            "alpr.audit.figures.monthly",
        }
