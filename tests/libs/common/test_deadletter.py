"""Which failures are an outage (held and retried) and which are the message's own (set aside)."""

from __future__ import annotations

import asyncpg
import sqlalchemy.exc

from libs.common.deadletter import is_permanent, is_transient


def test_a_connection_left_in_a_state_it_cannot_use_by_a_restart_is_an_outage() -> None:
    """asyncpg's 'cannot switch to state 12; another operation (2) is in progress' (a pooled connection that read
    PostgreSQL's shutdown notice before its socket closed) was neither: a one-read batch waited out ack_wait and
    spent one of its deliveries on it."""
    raw = asyncpg.InternalClientError("cannot switch to state 12; another operation (2) is in progress")
    wrapped = sqlalchemy.exc.DBAPIError("SELECT 1", {}, raw)
    assert is_transient(raw) and is_transient(wrapped)
    assert not is_permanent(raw) and not is_permanent(wrapped)


def test_the_drivers_other_internal_errors_are_not_an_outage() -> None:
    """A codec or type-introspection failure recurs on every try: held as an outage it would never be set aside."""
    for said in ("unexpected codec type", "could not resolve query result and/or argument types in 6 attempts"):
        assert not is_transient(asyncpg.InternalClientError(said))
