"""Which failures are an outage (held and retried) and which are the message's own (set aside)."""

from __future__ import annotations

import asyncpg
import sqlalchemy.exc

from libs.common.deadletter import is_permanent, is_transient
from libs.common.errors import Unavailable


def test_a_connection_left_in_a_state_it_cannot_use_by_a_restart_is_an_outage() -> None:
    """asyncpg's 'cannot switch to state 12; another operation (2) is in progress' (a pooled connection that read
    PostgreSQL's shutdown notice before its socket closed) was neither: a one-read batch waited out ack_wait and
    spent one of its deliveries on it."""
    raw = asyncpg.InternalClientError("cannot switch to state 12; another operation (2) is in progress")
    wrapped = sqlalchemy.exc.DBAPIError("SELECT 1", {}, raw)
    assert is_transient(raw) and is_transient(wrapped)
    assert not is_permanent(raw) and not is_permanent(wrapped)


def test_a_handler_cancelled_from_inside_is_an_outage() -> None:
    """The consumer turns such a cancellation into Unavailable (libs/common/consumer.py)."""
    assert is_transient(Unavailable("the handler's wait was cancelled from inside it"))
    assert not is_transient(ValueError("a value refused")) and is_permanent(ValueError("a value refused"))
