"""Swagger UI and ReDoc served from the gateway itself: a department's isolated network reaches no CDN, and
FastAPI's own pages load their scripts from one, so they came up blank there.

The assets are the ones the `fastapi-offline` package ships; without it installed, /docs and /redoc say so
and link the schema, still without a request to anyone else.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_URL = "/docs/assets"


def _asset_folder() -> Path | None:
    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "static"  # where the package keeps swagger-ui and redoc
    return folder if (folder / "swagger-ui-bundle.js").is_file() else None


def _without_assets(app: FastAPI) -> HTMLResponse:
    page = (
        f"<!DOCTYPE html><html><head><title>{app.title}</title></head><body><h1>{app.title}</h1>"
        f'<p>The interactive documentation is not installed here; the schema is at <a href="{app.openapi_url}">'
        f"{app.openapi_url}</a>.</p></body></html>"
    )
    return HTMLResponse(page)


def install_docs(app: FastAPI) -> None:
    """/docs (Swagger UI) and /redoc from local assets; the app must be built with docs_url=redoc_url=None."""
    folder = _asset_folder()
    openapi_url = app.openapi_url or "/openapi.json"
    if folder is not None:
        app.mount(ASSETS_URL, StaticFiles(directory=folder), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        if folder is None:
            return _without_assets(app)
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} — Swagger UI",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
            oauth2_redirect_url=None,
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        if folder is None:
            return _without_assets(app)
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} — ReDoc",
            redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )
