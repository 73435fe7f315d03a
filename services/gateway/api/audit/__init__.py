"""Gateway routes: audit. Every route records the auditor's own access before it answers."""

from __future__ import annotations

from fastapi import APIRouter

from services.gateway.api.audit import log, reviews

router = APIRouter()
router.include_router(log.router)
router.include_router(reviews.router)
