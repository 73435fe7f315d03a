"""NATS subjects of audit → service calls: the writer of the log, and the audit unit's queries."""

from services.audit.handlers.auditors import AuditorHandlers
from services.audit.handlers.writer import AuditHandlers, writer_consumer

__all__ = ["AuditHandlers", "AuditorHandlers", "writer_consumer"]
