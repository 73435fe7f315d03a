"""The transparency page's facts, asked of the services that keep them; a service that does not answer is named.

Records, audit and sharing each keep monthly counters in the transaction of the fact they count; this module
asks for twelve months of them at once and lays them out month by month, zeros where nothing happened.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from datetime import UTC, date, datetime
from typing import TypeVar

from pydantic import BaseModel

from libs.common.contracts.transparency import (
    AUDIT_FIGURES,
    AUDIT_MONTHLY,
    FIGURES,
    RECORDS_FIGURES,
    RECORDS_MONTHLY,
    SHARING_FIGURES,
    SHARING_MONTHLY,
    SHARING_PARTNERS_PUBLIC,
    MonthlyQuery,
    PublicPartner,
    PublicPartnersQuery,
    RecordsFigures,
    RetentionFacts,
)
from libs.common.endpoint import Endpoint
from libs.common.errors import AlprError
from services.gateway.state import GatewayState

log = logging.getLogger(__name__)
MONTHS_SHOWN = 12
ASK_TIMEOUT_S = 2.0
Q = TypeVar("Q", bound=BaseModel)
R = TypeVar("R", bound=BaseModel)

FIGURE_LABELS: dict[str, str] = {
    "reads": "Plate reads",
    "hotlist_hits": "Hotlist hits",
    "searches": "Searches by department staff",
    "denied_searches": "Searches refused",
    "prohibited_purpose_refusals": "Refused for a prohibited purpose",
    # sharing counts each partner search it answered, found or not (its ledger's definition): "shares" read as
    # reads handed over, which the count is not
    "partner_shares": "Partner agency searches answered",
    "alert_dispositions": "Alerts closed with a disposition",
    "misreads_corrected": "Misreads corrected",
}


class PolicyRef(BaseModel):
    version: str
    sha256: str
    href: str = "/public/policy"


class Retention(RetentionFacts):
    source: str  # "records" when records answered; else the gateway's own settings, without the B5 cap


class Month(BaseModel):
    month: str  # YYYY-MM, UTC
    counts: dict[str, int | None]  # null: the service that keeps the figure did not answer


class Transparency(BaseModel):
    generated_at: datetime
    policy: PolicyRef
    retention: Retention
    partners: list[PublicPartner] | None
    partner_agencies: int | None
    figure_labels: dict[str, str]
    months: list[Month]  # oldest first
    totals: dict[str, int | None]
    not_available: list[str]


def last_months(today: date, n: int = MONTHS_SHOWN) -> list[date]:
    """The first days of the last `n` months, this one included, oldest first."""
    index = today.year * 12 + today.month - 1
    return [date((index - k) // 12, (index - k) % 12 + 1, 1) for k in range(n - 1, -1, -1)]


async def _ask(rt: GatewayState, endpoint: Endpoint[Q, R], body: Q) -> R | None:
    try:
        return await rt.bus.call(endpoint, body, timeout=ASK_TIMEOUT_S)
    except AlprError as err:
        log.warning("transparency: %s did not answer (%s)", endpoint.subject, err.code)
        return None


async def compose(rt: GatewayState, policy_text: str, now: datetime | None = None) -> Transparency:
    """Every fact of the page, asked of records, audit and sharing together."""
    now = now or datetime.now(UTC)
    months = last_months(now.date())
    query = MonthlyQuery(since=months[0])
    records, audit, sharing, partners = await asyncio.gather(
        _ask(rt, RECORDS_MONTHLY, query),
        _ask(rt, AUDIT_MONTHLY, query),
        _ask(rt, SHARING_MONTHLY, query),
        _ask(rt, SHARING_PARTNERS_PUBLIC, PublicPartnersQuery()),
    )
    missing: list[str] = []
    table: dict[tuple[date, str], int] = {}
    for answer, kept in ((records, RECORDS_FIGURES), (audit, AUDIT_FIGURES), (sharing, SHARING_FIGURES)):
        if answer is None:
            missing += kept
            continue
        for count in answer.counts:
            if count.figure in kept:  # a service speaks only for its own figures
                table[(count.month, count.figure)] = count.n
    shown = [
        Month(
            month=m.strftime("%Y-%m"),
            counts={f: None if f in missing else table.get((m, f), 0) for f in FIGURES},
        )
        for m in months
    ]
    totals: dict[str, int | None] = {
        f: None if f in missing else sum(table.get((m, f), 0) for m in months) for f in FIGURES
    }
    retention = _retention(rt, records, now)
    if retention.source != "records":
        missing.append("unmatched_retention")
    if partners is None:
        missing.append("partners")
    return Transparency(
        generated_at=now,
        policy=PolicyRef(version=rt.settings.policy_version, sha256=hashlib.sha256(policy_text.encode()).hexdigest()),
        retention=retention,
        partners=partners.partners if partners else None,
        partner_agencies=len({p.ori for p in partners.partners}) if partners else None,
        figure_labels=FIGURE_LABELS,
        months=shown,
        totals=totals,
        not_available=missing,
    )


def _retention(rt: GatewayState, records: RecordsFigures | None, now: datetime) -> Retention:
    """Records' own periods and cutoffs; without records, the gateway's (the same settings, the same function)."""
    if records is not None:
        return Retention(**records.retention.model_dump(), source="records")
    return Retention(**rt.settings.retention_periods(now), source="gateway settings")
