"""Public routes, no sign-in: the usage and privacy policy (G1) and the transparency page (G2)."""

from __future__ import annotations

from fastapi import APIRouter

from services.gateway.api.public import policy, transparency

router = APIRouter()
for area in (policy, transparency):
    router.include_router(area.router)
