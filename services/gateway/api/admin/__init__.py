"""Admin routes: the personnel registry, user classes, the permission matrix and flagged attempts."""

from __future__ import annotations

from fastapi import APIRouter

from services.gateway.api.admin import classes, flags, personnel

router = APIRouter()
for area in (personnel, classes, flags):
    router.include_router(area.router)
