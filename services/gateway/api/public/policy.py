"""G1: the published usage and privacy policy with its version: a page for people, JSON and markdown for tools."""

from __future__ import annotations

import hashlib
from importlib import resources
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel

from libs.common.contracts.purpose import AUTHORIZED_USE_TEXT
from services.gateway.api.admin.classes import permission_matrix
from services.gateway.api.deps import LimitsDep, StateDep
from services.gateway.api.public import pages
from services.gateway.api.public.policy_blocks import policy_blocks
from services.gateway.policy.purposes import PROHIBITED_CATEGORIES
from services.gateway.state import GatewayState

router = APIRouter(prefix="/public", tags=["public"])
POLICY_MAX_AGE_S = 300


class PolicyPage(BaseModel):
    version: str
    sha256: str
    text: str
    authorized_uses: dict[str, str]
    permissions: dict[str, list[str]]
    purpose_rules: dict[str, Any]


def policy_text(rt: GatewayState) -> str:
    path = rt.settings.policy_path
    if path is not None:
        return str(path.read_text(encoding="utf-8"))
    return (resources.files("services.gateway.policy") / "POLICY.md").read_text(encoding="utf-8")


@router.get(
    "/policy",
    response_model=PolicyPage,
    responses={200: {"content": {"text/markdown": {}, "text/html": {}}}, 304: {"description": "Not modified"}},
)
async def policy(request: Request, rt: StateDep, limits: LimitsDep) -> Response | PolicyPage:
    """The usage and privacy policy; `Accept: text/markdown` gets the document, `text/html` the page."""
    await limits.public(request.client.host if request.client else "unknown")
    text = policy_text(rt)
    version = rt.settings.policy_version
    if "text/markdown" in request.headers.get("accept", ""):
        return PlainTextResponse(text, media_type="text/markdown", headers={"X-Policy-Version": version})
    digest = hashlib.sha256(text.encode()).hexdigest()
    if pages.wants_html(request):
        html, etag = _policy_html(rt, version, digest, text)
        return pages.page_response(request, html, pages.HTML, etag=etag, max_age=POLICY_MAX_AGE_S)
    return PolicyPage(
        version=version,
        sha256=digest,
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


def _policy_html(rt: GatewayState, version: str, digest: str, text: str) -> tuple[bytes, str]:
    """The rendered page, kept per document digest: the policy changes only with a deployment."""
    cached = rt.policy_page
    if cached is not None and cached[0] == digest:
        return cached[1], cached[2]
    html = pages.render("policy.html", version=version, sha256=digest, blocks=policy_blocks(text))
    rt.policy_page = (digest, html, pages.etag_of(html))
    return html, pages.etag_of(html)
