"""G2: the transparency page, HTML for a browser and JSON with the same figures, cached with an ETag."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.gateway.api.deps import LimitsDep, StateDep
from services.gateway.api.public import pages
from services.gateway.api.public.charts import BarChart, bar_chart
from services.gateway.api.public.figures import Transparency, compose
from services.gateway.api.public.policy import policy_text
from services.gateway.state import GatewayState

log = logging.getLogger(__name__)
router = APIRouter(prefix="/public", tags=["public"])
FIGURES_TTL_S = 60.0  # the page is public: figures are recomputed at most once a minute per replica


@dataclass(frozen=True)
class RenderedPage:
    """One computation of the page in both forms, each with its ETag."""

    expires: float
    facts: Transparency
    json: bytes
    json_etag: str
    html: bytes
    html_etag: str


@dataclass
class PageCache:
    """This replica's page (GatewayState.transparency)."""

    page: RenderedPage | None = None
    # one computation at a time: a burst at start waits for it instead of asking every service again
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    refresh: asyncio.Task[None] | None = None


@router.get(
    "/transparency",
    response_model=Transparency,
    responses={200: {"content": {"text/html": {}}}, 304: {"description": "Not modified (If-None-Match)"}},
)
async def transparency(request: Request, rt: StateDep, limits: LimitsDep) -> Response:
    """Policy, retention, partners by name and twelve months of figures; `Accept: text/html` gets the page."""
    await limits.public(request.client.host if request.client else "unknown")
    page = await current_page(rt)
    max_age = max(int(page.expires - time.monotonic()), 0)
    if pages.wants_html(request):
        return pages.page_response(request, page.html, pages.HTML, etag=page.html_etag, max_age=max_age)
    return pages.page_response(request, page.json, pages.JSON, etag=page.json_etag, max_age=max_age)


async def current_page(rt: GatewayState) -> RenderedPage:
    """The cached page; once it is past its minute, still served while one refresh runs behind it.

    Only the first request of a process waits for the services: later ones never pay for a recomputation,
    which keeps the p95 at the cost of a page up to a refresh's duration older than its minute.
    """
    cache = rt.transparency
    page = cache.page
    if page is None:
        async with cache.lock:
            if cache.page is None:
                cache.page = await _computed(rt)
            return cache.page
    if page.expires <= time.monotonic() and (cache.refresh is None or cache.refresh.done()):
        cache.refresh = asyncio.create_task(_refresh(rt, cache))
    return page


async def _computed(rt: GatewayState) -> RenderedPage:
    return render_page(await compose(rt, policy_text(rt)))


async def _refresh(rt: GatewayState, cache: PageCache) -> None:
    try:
        cache.page = await _computed(rt)
    except Exception:  # the page in hand stays served; the next request past its time tries again
        log.exception("transparency: the page could not be refreshed")


def render_page(facts: Transparency) -> RenderedPage:
    """Both forms from one set of facts, so the JSON carries exactly the numbers the page shows."""
    body = facts.model_dump_json().encode()
    html = pages.render("transparency.html", facts=facts, charts=charts_of(facts), month_names=month_names(facts))
    return RenderedPage(
        expires=time.monotonic() + FIGURES_TTL_S,
        facts=facts,
        json=body,
        json_etag=pages.etag_of(body),
        html=html,
        html_etag=pages.etag_of(html),
    )


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def month_names(facts: Transparency) -> dict[str, str]:
    """`2026-03` → `Mar 2026`, for the table and the bars' titles."""
    return {m.month: f"{_MONTHS[int(m.month[5:7]) - 1]} {m.month[:4]}" for m in facts.months}


def charts_of(facts: Transparency) -> dict[str, BarChart | None]:
    """A chart per figure that every month has; none for a figure whose service did not answer."""
    names = month_names(facts)
    charts: dict[str, BarChart | None] = {}
    for figure in facts.figure_labels:
        values = [m.counts.get(figure) for m in facts.months]
        if any(v is None for v in values):
            charts[figure] = None
            continue
        counted = [int(v or 0) for v in values]
        charts[figure] = bar_chart(
            counted,
            labels=[names[m.month][0] for m in facts.months],
            titles=[f"{names[m.month]}: {v:,}" for m, v in zip(facts.months, counted, strict=True)],
        )
    return charts
