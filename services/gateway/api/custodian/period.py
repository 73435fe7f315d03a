"""The period a custodian's listing covers, checked at the door (a 422 naming the field, never a 500)."""

from __future__ import annotations

from datetime import datetime

from libs.common.errors import InvalidInput


def check_period(since: datetime | None, until: datetime | None) -> None:
    """An open end is allowed; a closed period must not be empty."""
    if since is not None and until is not None and until <= since:
        raise InvalidInput("until must come after since", code="invalid_window", field="until")
