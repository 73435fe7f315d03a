"""Gateway routes: partner."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["partner"])
