"""The records custodian's desk: deletion certificates, purges on order, the share ledger (auditors read too)."""

from __future__ import annotations

from fastapi import APIRouter

from services.gateway.api.custodian import certificates, purges, share_ledger

router = APIRouter()
for area in (certificates, purges, share_ledger):
    router.include_router(area.router)
