"""G1/G2: the published policy with its version, and aggregate figures with no personal data."""

from __future__ import annotations

import hashlib
import logging
import time
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel

from libs.common.contracts.alerts import AlertFigures, FiguresQuery
from libs.common.contracts.audit import EventType
from libs.common.contracts.oversight import CountsQuery, CountsReply
from libs.common.contracts.purpose import AUTHORIZED_USE_TEXT
from libs.common.contracts.search import ReadCount, ReadCountQuery
from libs.common.contracts.sharing import AgreementList, Empty, sharing_subject
from libs.common.errors import AlprError
from libs.common.web import Runtime
from services.gateway import repository
from services.gateway.api.admin.classes import permission_matrix
from services.gateway.api.deps import LimitsDep, RuntimeDep
from services.gateway.policy.purposes import PROHIBITED_CATEGORIES

log = logging.getLogger(__name__)
router = APIRouter(prefix="/public", tags=["public"])
FIGURES_TTL_S = 60.0  # the page is public: figures are recomputed at most once a minute per replica


class PolicyPage(BaseModel):
    version: str
    sha256: str
    text: str
    authorized_uses: dict[str, str]
    permissions: dict[str, list[str]]
    purpose_rules: dict[str, Any]


class Transparency(BaseModel):
    generated_at: datetime
    policy_version: str
    retention_days: int
    partner_agencies: int | None
    counts: dict[str, int | None]
    alert_dispositions: dict[str, int] | None
    sources: dict[str, str]
    not_available: list[str]


def policy_text(rt: Runtime) -> str:
    path = rt.settings.policy_path
    if path is not None:
        return str(path.read_text(encoding="utf-8"))
    return (resources.files("services.gateway.policy") / "POLICY.md").read_text(encoding="utf-8")


@router.get("/policy", response_model=PolicyPage, responses={200: {"content": {"text/markdown": {}}}})
async def policy(request: Request, rt: RuntimeDep, limits: LimitsDep) -> Response | PolicyPage:
    """The usage and privacy policy; `Accept: text/markdown` gets the document itself."""
    limits.public(request.client.host if request.client else "unknown")
    text = policy_text(rt)
    version = rt.settings.policy_version
    if "text/markdown" in request.headers.get("accept", ""):
        return PlainTextResponse(text, media_type="text/markdown", headers={"X-Policy-Version": version})
    return PolicyPage(
        version=version,
        sha256=hashlib.sha256(text.encode()).hexdigest(),
        text=text,
        authorized_uses={use.value: words for use, words in AUTHORIZED_USE_TEXT.items()},
        permissions=permission_matrix(),
        purpose_rules={
            "case_number_pattern": rt.settings.case_number_pattern,
            "min_reason_length": rt.settings.min_reason_length,
            "vague_reasons": rt.settings.vague_reason_list,
            "prohibited_purposes": [category.value for category in PROHIBITED_CATEGORIES],
            "broad_search_window_days": rt.settings.broad_window_days,
        },
    )


@router.get("/transparency", response_model=Transparency)
async def transparency(request: Request, rt: RuntimeDep, limits: LimitsDep) -> Transparency:
    """Totals since the records began; a figure no service can give yet is null and listed as such."""
    limits.public(request.client.host if request.client else "unknown")
    cached = rt.extras.get("transparency")
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]  # type: ignore[no-any-return]
    page = await _figures(rt)
    rt.extras["transparency"] = (time.monotonic() + FIGURES_TTL_S, page)
    return page


async def _figures(rt: Runtime) -> Transparency:
    counts: dict[str, int | None] = dict.fromkeys(("reads", "hits", "searches", "shares", "denied_searches"))
    sources: dict[str, str] = {}
    dispositions: dict[str, int] | None = None
    try:
        audit = await rt.bus.request("alpr.audit.counts", CountsQuery(), CountsReply, timeout=2.0)
        counts["searches"] = audit.by_event_type.get(EventType.SEARCH.value, 0)
        counts["shares"] = audit.by_event_type.get(EventType.PARTNER_QUERY.value, 0)
        counts["denied_searches"] = audit.denied_searches
        sources.update(searches="audit log", shares="audit log", denied_searches="audit log")
    except AlprError as err:
        log.warning("transparency: audit counts unavailable (%s); using the gateway's tally", err.code)
        assert rt.uow is not None
        async with rt.uow() as session:
            tally = await repository.tally_totals(session)
        counts["searches"] = tally.get(EventType.SEARCH.value, 0)
        sources["searches"] = "gateway access tally"
    try:
        figures = await rt.bus.request("alpr.records.alerts.figures", FiguresQuery(), AlertFigures, timeout=2.0)
        counts["hits"], dispositions = figures.alerts, figures.by_disposition
        sources.update(hits="records alerts", alert_dispositions="records alerts")
    except AlprError as err:
        log.info("transparency: alert figures unavailable (%s)", err.code)
    try:
        held = await rt.bus.request("alpr.records.reads.count", ReadCountQuery(), ReadCount, timeout=2.0)
        counts["reads"] = held.reads
        sources["reads"] = "records (reads held now)"
    except AlprError as err:
        log.info("transparency: read count unavailable (%s)", err.code)
    partner_agencies: int | None = None
    try:
        agreements = await rt.bus.request(sharing_subject("agreements.list"), Empty(), AgreementList, timeout=2.0)
        # agencies we share with now: those holding an agreement in force
        partner_agencies = len({a.partner_ori for a in agreements.agreements if a.status == "active"})
        sources["partner_agencies"] = "sharing agreements in force"
    except AlprError as err:
        log.info("transparency: agreements unavailable (%s)", err.code)
    missing = [k for k, v in counts.items() if v is None]
    if partner_agencies is None:
        missing.append("partner_agencies")
    if dispositions is None:
        missing.append("alert_dispositions")
    return Transparency(
        generated_at=datetime.now(UTC),
        policy_version=rt.settings.policy_version,
        retention_days=rt.settings.retention_days,
        partner_agencies=partner_agencies,
        counts=counts,
        alert_dispositions=dispositions,
        sources=sources,
        not_available=missing,
    )
