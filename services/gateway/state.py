"""What a gateway process owns, built once in its lifespan and reached by routes through api/deps.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from libs.common.audit_trail import AuditTrail, ChangeRecorder
from libs.common.db import UnitOfWork
from libs.common.tokens import TokenVerifier
from libs.common.web import ServiceState
from services.gateway.api.accesses import AccessTally
from services.gateway.credentials import CameraCredentialCache
from services.gateway.ratelimit import GatewayLimits
from services.gateway.read_bundles import LoneReads
from services.gateway.secret_failures import SecretFailures
from services.gateway.settings import GatewaySettings

if TYPE_CHECKING:  # route modules, which reach this state through their dependencies
    from services.gateway.api.partner import PartnerKeys
    from services.gateway.api.public.transparency import PageCache


@dataclass(kw_only=True)
class GatewayState(ServiceState):
    """The gateway's connections and its per-replica caches and counters (memory only, see each type)."""

    settings: GatewaySettings
    uow: UnitOfWork
    verifier: TokenVerifier
    audit: AuditTrail
    changes: ChangeRecorder  # a change to the gateway's own tables commits only with its access record
    tally: AccessTally
    limits: GatewayLimits
    secret_failures: SecretFailures
    camera_credentials: CameraCredentialCache
    camera_seen: dict[str, datetime]  # camera id → last post, written to the registry once a second
    lone_reads: LoneReads  # single-read posts' reads, published together while an earlier ack is awaited
    partner_keys: PartnerKeys
    transparency: PageCache
    policy_page: tuple[str, bytes, str] | None = None  # (document digest, rendered HTML, its ETag)
