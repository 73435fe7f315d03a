"""Gateway ↔ sharing over `alpr.sharing.<action>`: tokens, keys, agreements, partner searches.

Each request/reply subject sharing answers is an `Endpoint` at the foot of this module; the gateway calls
them and services/sharing/handlers serves them, both by importing the same constant.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from libs.common.contracts.audit import RecordedRequest
from libs.common.contracts.hotlists import PartnerUpsertReply, ShareableList
from libs.common.contracts.purpose import Purpose
from libs.common.contracts.search import ReadSummary
from libs.common.endpoint import Endpoint
from libs.common.validation import AwareInstant, Line, Note

# Revocations are published here too, so anything that caches an agreement's state can drop it.
REVOKED_SUBJECT = "alpr.sharing.revoked"
# sharing's request/reply subjects are `alpr.sharing.<action>`; the action names the change in its audit record
SHARING_PREFIX = "alpr.sharing."


class Empty(BaseModel):
    """A request that carries nothing."""


class KeysReply(BaseModel):
    """What a verifier of partner tokens needs: the published keys, the issuer and the audience."""

    jwks: dict[str, Any]
    issuer: str
    audience: str


class TokenRequest(BaseModel):
    """A token endpoint request as the gateway received it (form fields may repeat, so lists)."""

    form: dict[str, list[str]]
    authorization: str | None = Field(default=None, repr=False)
    token_endpoint: str


class TokenReply(BaseModel):
    """RFC 6749 §5.1 success body."""

    access_token: str = Field(repr=False)
    token_type: str
    expires_in: int
    scope: str


class PartnerCredentials(BaseModel):
    """The claims of a partner token the gateway has verified (signature, issuer, audience, times)."""

    client_id: str
    agreement_id: str
    scopes: list[str]
    jti: str
    expires_at: datetime


class AgencyRef(BaseModel):
    """An agency named by its ORI and name."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    ori: Line = Field(min_length=9, max_length=9, examples=["CA0410000"])
    name: Line = Field(min_length=1, max_length=200, examples=["Santa Clara County Sheriff"])


class Requester(BaseModel):
    """The partner's person who asks (C2)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Line = Field(min_length=1, max_length=200, examples=["Det. R. Diaz"])
    badge: Line = Field(min_length=1, max_length=32, examples=["4412"])


class PartnerSearch(BaseModel):
    """A partner search: one exact plate, a window, who asks, for which agency, and why."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "plate": "8ABC123",
                    "since": "2026-11-01T00:00:00Z",
                    "until": "2026-11-28T00:00:00Z",
                    "requester": {"name": "Det. R. Diaz", "badge": "4412"},
                    "agency": {"ori": "CA0410000", "name": "Santa Clara County Sheriff"},
                    "on_behalf_of": {"ori": "CA0410000", "name": "Santa Clara County Sheriff"},
                    "purpose": {
                        "use": "stolen_or_wanted_vehicle",
                        "case_number": "SC-2026-1187",
                        "reason": "Stolen vehicle reported 11/27 in San Jose",
                    },
                }
            ]
        },
    )

    plate: Line = Field(min_length=2, max_length=15, examples=["8ABC123"])
    since: AwareInstant | None = None
    until: AwareInstant | None = None
    requester: Requester
    agency: AgencyRef
    on_behalf_of: AgencyRef
    purpose: Purpose
    limit: int = Field(default=100, ge=1, le=500)


class PartnerSearchRequest(RecordedRequest):
    search_id: str
    credentials: PartnerCredentials
    search: PartnerSearch


class PartnerSearchReply(BaseModel):
    """The reads the agreement allows, and the window they were searched in (narrowed if needed)."""

    search_id: str
    agreement_id: str
    partner_ori: str
    since: datetime
    until: datetime
    narrowed: bool
    reads: list[ReadSummary]
    truncated: bool = False


class CredentialsRequest(RecordedRequest):
    credentials: PartnerCredentials


class PartnerHotlistPut(RecordedRequest):
    credentials: PartnerCredentials
    entries: list[dict[str, Any]] = Field(max_length=10_000)


class StaffActor(BaseModel):
    """A person of ours acting on partners and agreements, as the gateway's registry knows them."""

    sub: str
    name: str
    roles: list[str]


class PartnerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ori: Line = Field(max_length=9, examples=["CA0410000"])
    name: Line = Field(max_length=200, examples=["Santa Clara County Sheriff"])
    kind: Line = Field(max_length=64, examples=["ca_local_agency"])
    state: Line = Field(default="CA", max_length=2, examples=["CA"])


class PartnerCreate(RecordedRequest):
    actor: StaffActor
    partner: PartnerIn


class PartnerView(BaseModel):
    ori: str
    name: str
    kind: str
    created_by: str
    created_at: datetime


AGREEMENT_EXAMPLE: dict[str, Any] = {
    "partner_ori": "CA0410000",
    "document_ref": "contracts/2026/iaa-007.pdf",
    "document_sha256": "9f2c1a7e5b3d8f60e4a2c9b7d1e3f5a7c9b1d3e5f7a9c1b3d5e7f9a1c3b5d7e9",
    "effective_from": "2026-12-01T00:00:00Z",
    "expires_at": "2027-11-30T00:00:00Z",
    "scopes": ["reads:search", "hotlists:read"],
    "allowed_uses": ["stolen_or_wanted_vehicle"],
    "max_lookback_days": 30,
}


class AgreementTerms(BaseModel):
    """What an admin proposes; the id is kept by a change and made up for a new agreement."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [AGREEMENT_EXAMPLE]})

    id: str | None = Field(default=None, max_length=64, examples=["SJPD-IAA-2026-007"])
    partner_ori: Line = Field(max_length=9, examples=["CA0410000"])
    document_ref: Line = Field(max_length=500, examples=["contracts/2026/iaa-007.pdf"])
    document_sha256: str = Field(
        pattern=r"^[0-9a-f]{64}$",
        examples=["9f2c1a7e5b3d8f60e4a2c9b7d1e3f5a7c9b1d3e5f7a9c1b3d5e7f9a1c3b5d7e9"],
        description="SHA-256 (lower-case hex) of the signed agreement document, shown to the custodian",
    )
    effective_from: AwareInstant
    expires_at: AwareInstant
    scopes: list[Annotated[Line, Field(max_length=64)]] = Field(
        max_length=20, examples=[["reads:search", "hotlists:read"]]
    )
    allowed_uses: list[Annotated[Line, Field(max_length=64)]] = Field(
        max_length=20, examples=[["stolen_or_wanted_vehicle"]]
    )
    max_lookback_days: int = Field(examples=[30])
    case_number_pattern: Line | None = Field(
        default=None,
        max_length=200,
        examples=[r"^SC-[0-9]{4}-[0-9]{4,8}$"],
        description="The partner agency's case-number format (matched with ASCII digits); none: ours",
    )


class ProposeRequest(RecordedRequest):
    actor: StaffActor
    terms: AgreementTerms
    reason: Note = Field(max_length=2000)


class RevokeRequest(RecordedRequest):
    actor: StaffActor
    agreement_id: Line  # from the path: any length there is a lookup that finds nothing, not a 500
    reason: Note = Field(max_length=2000)


class DecideRequest(RecordedRequest):
    """The custodian's decision on a proposal; `reason` is None only from a deprecated (bodiless) approval."""

    actor: StaffActor
    proposal_id: str
    approve: bool = True
    reason: Note | None = Field(default=None, max_length=2000)


class PartnerFacts(BaseModel):
    """The agency as the custodian is shown it at approval, and as the decision records it."""

    ori: str
    name: str
    kind: str
    state: str


class ProposalView(BaseModel):
    """A proposal with what the custodian decides on: the agency (kind, ORI), the document and its digest."""

    id: str
    action: str
    agreement_id: str
    status: Literal["pending", "approved", "denied"]
    partner: PartnerFacts | None = None
    document_ref: str | None = None
    document_sha256: str | None = None
    before: dict[str, Any] | None
    after: dict[str, Any]
    reason: str
    proposed_by: str
    proposed_at: datetime
    approved_by: str | None = None
    approved_at: datetime | None = None
    denied_by: str | None = None
    denied_at: datetime | None = None
    decision_reason: str | None = None


class AgreementLookup(BaseModel):
    agreement_id: str


class ProposalLookup(BaseModel):
    proposal_id: Line  # from the path: any length there is a lookup that finds nothing, not a 500


class ProposalList(BaseModel):
    """Proposals waiting for the custodian, oldest first."""

    proposals: list[ProposalView]


class AgreementView(BaseModel):
    """One version of an agreement, with its status as of now."""

    id: str
    version: int
    partner_ori: str
    document_ref: str
    document_sha256: str | None = None
    effective_from: datetime
    expires_at: datetime
    scopes: list[str]
    allowed_uses: list[str]
    max_lookback_days: int
    status: str
    case_number_pattern: str | None = None


class AgreementHistory(BaseModel):
    versions: list[AgreementView]
    proposals: list[ProposalView]


class ClientCreate(RecordedRequest):
    actor: StaffActor
    agreement_id: str
    auth_method: Literal["client_secret_basic", "private_key_jwt"] = "client_secret_basic"
    public_jwk: dict[str, Any] | None = None


class ClientView(BaseModel):
    """A registered client; the secret is in the reply that creates it and nowhere else, ever."""

    client_id: str
    agreement_id: str
    auth_method: str
    active: bool
    client_secret: str | None = Field(default=None, repr=False)


class Revoked(BaseModel):
    """Published on `alpr.sharing.revoked` when an agreement is revoked, or an approved version no longer grants
    `hotlists:write`: a hint to look again at what the agreement allows (records withdraws partner lists no
    agreement in force allows), not proof that the agreement ended."""

    agreement_id: str
    at: datetime


class HotlistWriter(BaseModel):
    """An agreement in force now that grants its partner `hotlists:write`."""

    agreement_id: str
    partner_ori: str


class HotlistWriters(BaseModel):
    """Every agreement in force that lets its partner keep a list with us; records withdraws the others."""

    as_of: datetime
    writers: list[HotlistWriter]


class PartnerList(BaseModel):
    partners: list[PartnerView]


class AgreementList(BaseModel):
    agreements: list[AgreementView]


def action_of(endpoint: Endpoint[Any, Any]) -> str:
    """The sharing action an endpoint asks for (`agreements.propose`), as a change's audit record names it."""
    return endpoint.subject.removeprefix(SHARING_PREFIX)


# partners' own requests, relayed by the gateway (api/partner.py)
KEYS = Endpoint("alpr.sharing.keys", Empty, KeysReply, queue="sharing")
TOKEN = Endpoint("alpr.sharing.token", TokenRequest, TokenReply, queue="sharing")
PARTNER_SEARCH = Endpoint("alpr.sharing.search", PartnerSearchRequest, PartnerSearchReply, queue="sharing")
SHAREABLE_HOTLISTS = Endpoint("alpr.sharing.hotlists.get", CredentialsRequest, ShareableList, queue="sharing")
PARTNER_HOTLIST_PUT = Endpoint("alpr.sharing.hotlists.put", PartnerHotlistPut, PartnerUpsertReply, queue="sharing")
# the department's staff on partners and agreements (api/agreements.py)
PARTNER_CREATE = Endpoint("alpr.sharing.partners.create", PartnerCreate, PartnerView, queue="sharing")
PARTNER_LIST = Endpoint("alpr.sharing.partners.list", Empty, PartnerList, queue="sharing")
AGREEMENT_PROPOSE = Endpoint("alpr.sharing.agreements.propose", ProposeRequest, ProposalView, queue="sharing")
AGREEMENT_REVOKE = Endpoint("alpr.sharing.agreements.revoke", RevokeRequest, ProposalView, queue="sharing")
PROPOSAL_DECIDE = Endpoint("alpr.sharing.agreements.approve", DecideRequest, ProposalView, queue="sharing")
AGREEMENT_HISTORY = Endpoint("alpr.sharing.agreements.get", AgreementLookup, AgreementHistory, queue="sharing")
AGREEMENT_LIST = Endpoint("alpr.sharing.agreements.list", Empty, AgreementList, queue="sharing")
PROPOSAL_GET = Endpoint("alpr.sharing.proposals.get", ProposalLookup, ProposalView, queue="sharing")
PROPOSALS_PENDING = Endpoint("alpr.sharing.proposals.pending", Empty, ProposalList, queue="sharing")
CLIENT_CREATE = Endpoint("alpr.sharing.clients.create", ClientCreate, ClientView, queue="sharing")
# records, withdrawing each partner list no agreement in force allows (services/records/hotlists/reconcile.py)
HOTLIST_WRITERS = Endpoint("alpr.sharing.agreements.hotlist_writers", Empty, HotlistWriters, queue="sharing")
