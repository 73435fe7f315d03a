"""Gateway settings: identity, purpose rules and limits; a production config refuses the dev issuer."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, model_validator

from libs.common.case_numbers import DEPARTMENT_CASE_NUMBER_PATTERN, pattern_problem
from libs.common.proxies import trusted_networks
from libs.common.settings import MAX_RETENTION_DAYS, RetentionSettings
from libs.common.tokens import DEVELOPMENT_ISSUER, is_development_jwks
from services.gateway.identity_keys import FetchPolicy

DEFAULT_VAGUE_REASONS = "investigation,investigate,test,testing,curious,check,checking,just looking,n/a,na,none,misc"


class GatewaySettings(RetentionSettings):
    # no default: the identity provider is named (a default would be the development issuer)
    oidc_issuer: str = ""
    oidc_audience: str = "alpr-gateway"
    # the provider's keys: exactly one source. Discovery (the issuer's /.well-known/openid-configuration names
    # its jwks_uri) or the JWKS URL are fetched and follow the provider's rotations; the file is for
    # air-gapped sites (services/gateway/identity_keys.py)
    oidc_discovery: bool = False
    oidc_jwks_url: str = ""
    oidc_jwks_path: Path | None = None
    # the fetched keys are kept as the provider's cache headers say, within these bounds; an unknown key id
    # fetches them again, at most once per interval
    oidc_jwks_min_cache_s: float = 60.0
    oidc_jwks_max_cache_s: float = 24 * 3600.0
    oidc_jwks_refresh_interval_s: float = 30.0
    oidc_http_timeout_s: float = Field(default=5.0, gt=0, le=60)
    dev_issuer_enabled: bool = False
    # matched with ASCII digits only (libs.common.case_numbers); prohibited purposes: policy/purposes.py
    case_number_pattern: str = DEPARTMENT_CASE_NUMBER_PATTERN
    # 0 would accept an empty reason: the purpose check needs some sentence to judge
    min_reason_length: int = Field(default=20, ge=10, le=500)
    vague_reasons: str = DEFAULT_VAGUE_REASONS
    # a search window past this needs a supervisor; longer than the retention period it could never apply
    broad_window_days: int = Field(default=30, ge=1, le=MAX_RETENTION_DAYS)
    # a camera post: room for one image of the largest size accepted (libs.common.images.IMAGE_MAX_BYTES,
    # 8 MiB decoded) sent as base64 in JSON (4/3 of it) with its read; nats.conf's max_payload carries it
    max_body_bytes: int = Field(default=12 * 1024 * 1024, ge=64 * 1024, le=32 * 1024 * 1024)  # max_payload 32MB
    # an account unused this long is suspended: a year at most, or a departed officer's account stays a way in
    inactivity_suspend_days: int = Field(default=90, ge=1, le=365)
    # wrong-password lockout: at least one failure counted over at least a minute (0 s counts none, so the
    # lockout would be off); past 100 failures or a day the lockout no longer slows a guesser or a typist
    lockout_failures: int = Field(default=5, ge=1, le=100)
    lockout_window_s: int = Field(default=900, ge=60, le=86_400)
    # a person's token lives at most this long from its iat; a token without iat is refused
    max_token_lifetime_s: int = 12 * 3600
    # comma-separated CIDRs of our ingress: the only peers whose X-Forwarded-For is believed (libs/common/proxies.py)
    trusted_proxies: str = ""
    # wrong camera or partner client secrets: after this many in the window, 429 (secret_failures.py)
    secret_failures_per_client: int = 10
    secret_failures_per_address: int = 50
    secret_failure_window_s: int = 600
    # at least one request per interval: 0 would refuse every request of that kind (fail closed, but no service)
    rate_person_per_minute: int = Field(default=120, ge=1)
    rate_camera_per_second: int = Field(default=2000, ge=1)
    rate_partner_per_minute: int = Field(default=600, ge=1)
    rate_public_per_minute: int = Field(default=60, ge=1)
    # each replica leases this share of a bucket's capacity from the shared row at a time (ratelimit.py): the
    # replicas together may exceed a limit by replicas x lease, and the smaller the lease the more round trips
    rate_lease_fraction: float = Field(default=0.1, gt=0, le=1)
    # while the shared buckets are unreachable, each replica limits alone at 1/this of the rate
    rate_expected_replicas: int = Field(default=2, ge=1)
    # how long a replica trusts its cached camera row: a camera disabled through another replica (or in
    # the database) is refused here within this many seconds plus one lookup; see credentials.py
    camera_cache_s: float = Field(default=5.0, ge=0, le=60)
    # under load an agency's single-read posts go to the stream in bundles at most this often (unless one is
    # full): fewer, larger messages for the bus and records at the cost of this much latency at most, and
    # only while earlier posts wait on their acks (read_bundles.LoneReads); 0 sends each as its ack comes
    read_bundle_gap_ms: float = Field(default=20.0, ge=0, le=200)
    # a supervisor's approval of a broad search covers paging through its results, not standing access: 3 days
    approval_valid_hours: int = Field(default=24, ge=1, le=72)
    policy_path: Path | None = None
    policy_version: str = "L4207-2016-11-04"

    @model_validator(mode="after")
    def _no_dev_identity_in_production(self) -> GatewaySettings:
        if not self.oidc_issuer:
            raise ValueError("ALPR_OIDC_ISSUER is required (the identity provider)")
        sources = [name for name, given in self._key_sources().items() if given]
        if len(sources) != 1:
            raise ValueError(
                "exactly one source of the identity provider's keys is required: ALPR_OIDC_DISCOVERY=true, "
                f"ALPR_OIDC_JWKS_URL or ALPR_OIDC_JWKS_PATH (given: {', '.join(sources) or 'none'})"
            )
        if self.is_production and self.dev_issuer_enabled:
            raise ValueError("the development token issuer cannot be enabled in production")
        # whatever the key source: the issuer is what a token must name, and the verifier refuses it too
        if self.is_production and self.oidc_issuer == DEVELOPMENT_ISSUER:
            raise ValueError("ALPR_OIDC_ISSUER is the development issuer, refused in production")
        if self.is_production and self.oidc_jwks_path is not None and is_development_jwks(self.oidc_jwks_path):
            raise ValueError("ALPR_OIDC_JWKS_PATH holds the development issuer's keys, refused in production")
        fetched = {"ALPR_OIDC_ISSUER": self.oidc_issuer} if self.oidc_discovery else {}
        if self.oidc_jwks_url:
            fetched = {"ALPR_OIDC_JWKS_URL": self.oidc_jwks_url}
        for name, url in fetched.items():
            # keys over plain HTTP could be anyone's; loopback (a sidecar, a test) is the one exception
            if not (url.startswith("https://") or (_loopback(url) and not self.is_production)):
                raise ValueError(f"{name} must be an https:// URL to fetch the provider's keys from")
        if not 0 < self.oidc_jwks_refresh_interval_s <= self.oidc_jwks_min_cache_s <= self.oidc_jwks_max_cache_s:
            raise ValueError(
                "ALPR_OIDC_JWKS_REFRESH_INTERVAL_S <= ALPR_OIDC_JWKS_MIN_CACHE_S <= ALPR_OIDC_JWKS_MAX_CACHE_S"
            )
        return self

    def _key_sources(self) -> dict[str, bool]:
        return {
            "ALPR_OIDC_DISCOVERY": self.oidc_discovery,
            "ALPR_OIDC_JWKS_URL": bool(self.oidc_jwks_url),
            "ALPR_OIDC_JWKS_PATH": self.oidc_jwks_path is not None,
        }

    @model_validator(mode="after")
    def _sane_limits(self) -> GatewaySettings:
        trusted_networks(self.trusted_proxies)  # ValueError names an entry that is not a CIDR
        if not 60 <= self.max_token_lifetime_s <= 24 * 3600:
            raise ValueError("ALPR_MAX_TOKEN_LIFETIME_S must be 60..86400 seconds")
        if min(self.secret_failures_per_client, self.secret_failures_per_address, self.secret_failure_window_s) < 1:
            raise ValueError("ALPR_SECRET_FAILURES_* must be at least 1")
        return self

    @model_validator(mode="after")
    def _usable_case_number_pattern(self) -> GatewaySettings:
        problem = pattern_problem(self.case_number_pattern)
        if problem:
            raise ValueError(f"ALPR_CASE_NUMBER_PATTERN: {problem}")
        return self

    @property
    def oidc_fetch_policy(self) -> FetchPolicy:
        """How the provider's fetched keys are cached and refreshed."""
        return FetchPolicy(
            min_cache_s=self.oidc_jwks_min_cache_s,
            max_cache_s=self.oidc_jwks_max_cache_s,
            min_interval_s=self.oidc_jwks_refresh_interval_s,
            timeout_s=self.oidc_http_timeout_s,
        )

    @property
    def vague_reason_list(self) -> list[str]:
        return [r.strip().lower() for r in self.vague_reasons.split(",") if r.strip()]


def _loopback(url: str) -> bool:
    return url.startswith("http://") and urlsplit(url).hostname in ("127.0.0.1", "::1", "localhost")
