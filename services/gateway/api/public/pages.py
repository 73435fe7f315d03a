"""Public pages as HTML: the Jinja2 templates, content negotiation, ETags and the headers a page carries."""

from __future__ import annotations

import base64
import hashlib
from functools import cache
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import Response

HTML = "text/html; charset=utf-8"
JSON = "application/json"


@cache
def environment() -> Environment:
    """Autoescaping on for every template: a value can never become markup."""
    env = Environment(
        loader=PackageLoader("services.gateway", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["stylesheet"] = stylesheet()
    return env


@cache
def stylesheet() -> str:
    return (resources.files("services.gateway") / "templates" / "public.css").read_text(encoding="utf-8")


@cache
def security_policy() -> str:
    """No script, no frame, no form; the one inline stylesheet is allowed by its hash."""
    digest = base64.b64encode(hashlib.sha256(stylesheet().encode()).digest()).decode()
    return (
        f"default-src 'none'; style-src 'sha256-{digest}'; img-src 'none'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    )


def render(template: str, **context: Any) -> bytes:
    return environment().get_template(template).render(**context).encode()


def _quality(accept: str) -> dict[str, float]:
    """Each media range of an Accept header with its q (1 when absent, 0 when unreadable)."""
    ranges: dict[str, float] = {}
    for part in accept.split(",")[:32]:  # a browser sends a handful; a long header is not parsed whole
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        if media:
            ranges[media.lower()] = max(q, ranges.get(media.lower(), 0.0))
    return ranges


def wants_html(request: Request) -> bool:
    """A browser names text/html; `*/*` alone, or JSON preferred, gets JSON as before."""
    ranges = _quality(request.headers.get("accept", ""))
    html = ranges.get("text/html", 0.0)
    return html > 0 and html >= ranges.get(JSON, 0.0)


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison: `W/` is ignored, `*` matches any current representation."""
    if not if_none_match:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")[:32]]
    return "*" in tags or etag in tags


def page_response(request: Request, body: bytes, media_type: str, *, etag: str, max_age: int) -> Response:
    """The body with its ETag, or 304 when the client holds it already."""
    headers = {
        "ETag": etag,
        "Cache-Control": f"public, max-age={max_age}",
        "Vary": "Accept",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": security_policy(),
        "Referrer-Policy": "no-referrer",
    }
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)
