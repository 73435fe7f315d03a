"""Partner requests over NATS: the token endpoint, the published keys, searches and hotlists."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from libs.common.audit_trail import CHANGE_TIMEOUT_S, ChangeRecorder
from libs.common.bus import Bus
from libs.common.case_numbers import case_number_in_format
from libs.common.contracts.hotlists import (
    HOTLIST_PARTNER_UPSERT,
    HOTLIST_SHAREABLE,
    PartnerEntryIn,
    PartnerUpsert,
    PartnerUpsertReply,
    ShareableList,
    ShareableQuery,
)
from libs.common.contracts.search import SEARCH, SearchQuery, SearchRequest
from libs.common.contracts.sharing import (
    CredentialsRequest,
    Empty,
    KeysReply,
    PartnerHotlistPut,
    PartnerSearchReply,
    PartnerSearchRequest,
    TokenReply,
    TokenRequest,
)
from libs.common.errors import Forbidden, InvalidInput, MalformedPayload, Unauthenticated
from libs.common.oauth.errors import InvalidClient, OAuthError
from libs.common.oauth.keys import KeyRing
from libs.common.oauth.tokens import issue_access_token
from libs.common.validation import DEFAULT_CLOCK_SKEW_S
from services.sharing import repository
from services.sharing.models import LedgerRow
from services.sharing.oauth.client_auth import authenticate_client, grant_scopes, parse_token_request
from services.sharing.partners.agreements import Scope, authorize_partner_search
from services.sharing.partners.eligibility import validate_beneficiary
from services.sharing.partners.plates import check_partner_list, check_wildcard, searched_plate
from services.sharing.service import (
    agreement_of,
    client_of,
    require_scope,
    standing_agreement,
)
from services.sharing.settings import SharingSettings


class PartnerDesk:
    """Requests from partners: token, keys, searches, hotlists; each checks the token still stands."""

    def __init__(self, settings: SharingSettings, changes: ChangeRecorder, bus: Bus, keyring: KeyRing) -> None:
        self.settings = settings
        self.changes = changes
        self.uow = changes.uow
        self.bus = bus
        self.keyring = keyring

    async def keys(self, _: Empty) -> KeysReply:
        """The public keys and the names a verifier checks tokens against."""
        s = self.settings
        return KeysReply(jwks=self.keyring.jwks(), issuer=s.partner_issuer, audience=s.partner_audience)

    async def token(self, request: TokenRequest) -> TokenReply:
        """The client credentials grant; refusals travel as typed errors the gateway turns back into RFC 6749."""
        try:
            return await self._grant(request)
        except InvalidClient as err:
            raise Unauthenticated(err.message, code=err.code) from None
        except OAuthError as err:
            raise MalformedPayload(err.message, code=err.code) from None

    async def _grant(self, request: TokenRequest) -> TokenReply:
        """Authenticate, refuse a reused assertion, grant scopes, sign."""
        now = datetime.now(UTC)
        parsed = parse_token_request(request.form, request.authorization)
        endpoint = self.settings.partner_token_endpoint or request.token_endpoint
        async with self.uow() as session:
            client = client_of(await repository.get_client(session, client_id=parsed.client_id))
        # scrypt takes tens of milliseconds: off the event loop, so other requests keep flowing.
        proven = await asyncio.to_thread(authenticate_client, parsed, client, token_endpoint=endpoint, now=now)
        async with self.uow() as session:
            if proven.assertion_jti is not None:
                assert proven.assertion_expires_at is not None
                fresh = await repository.use_assertion(
                    session,
                    client_id=proven.client.client_id,
                    jti=proven.assertion_jti,
                    expires_at=proven.assertion_expires_at,
                    now=now,
                )
                if not fresh:
                    raise InvalidClient("The client assertion was already used")
            row = await repository.current_agreement(session, agreement_id=proven.client.agreement_id)
            if row is None:
                raise InvalidClient()
            agreement = agreement_of(row)
            scopes = grant_scopes(parsed.scopes, proven.client, agreement, now=now)
        issued = issue_access_token(
            self.keyring,
            issuer=self.settings.partner_issuer,
            audience=self.settings.partner_audience,
            client_id=proven.client.client_id,
            agreement_id=agreement.id,
            scopes=scopes,
            now=now,
            lifetime=timedelta(seconds=self.settings.token_ttl_s),
            not_after=agreement.expires_at,
        )
        return TokenReply.model_validate(issued.response_body())

    async def search(self, request: PartnerSearchRequest) -> PartnerSearchReply:
        """A partner search within its agreement; the ledger entry commits with the access record, before the reply."""
        now = datetime.now(UTC)
        credentials, asked = request.credentials, request.search
        async with self.uow() as session:
            agreement = await self._standing(session, credentials, now)
            require_scope(agreement, credentials, Scope.READS_SEARCH)
            if asked.agency.ori.upper() != agreement.partner_ori:
                raise Forbidden("The requesting agency is not the agreement's partner", code="agency_not_partner")
            beneficiary = validate_beneficiary(asked.on_behalf_of.ori, asked.on_behalf_of.name)
            # the gateway has read the purpose's text by the officers' rules; the format is the agreement's
            pattern = agreement.case_number_pattern or self.settings.case_number_pattern
            if not case_number_in_format(asked.purpose.case_number, pattern):
                raise InvalidInput("The case number is not in the agency's format", code="invalid_case_number")
            window = authorize_partner_search(
                agreement,
                scope=Scope.READS_SEARCH,
                use=asked.purpose.use,
                since=asked.since,
                until=asked.until,
                now=now,
                token_scopes=frozenset(credentials.scopes),
            )
        plate = searched_plate(asked.plate)
        query = SearchQuery(plate=plate, match="exact", since=window.since, until=window.until, limit=asked.limit)
        result = await self.bus.call(SEARCH, SearchRequest(search_id=request.search_id, query=query))
        result_ids = [r.read_id for r in result.reads]
        async with self.changes(request.audit) as change:
            session = change.session
            await repository.record_share(
                session,
                entry=LedgerRow(
                    agreement_id=agreement.id,
                    agreement_version=agreement.version,
                    partner_ori=agreement.partner_ori,
                    client_id=credentials.client_id,
                    action="search",
                    requester={**asked.requester.model_dump(), "agency": asked.agency.model_dump()},
                    on_behalf_of={"ori": beneficiary.ori, "name": beneficiary.name},
                    purpose=asked.purpose.model_dump(mode="json"),
                    query={**query.model_dump(mode="json", exclude_none=True), "search_id": request.search_id},
                    result_ids=result_ids,
                ),
            )
            change.complete(
                query={
                    **(request.audit.query if request.audit else {}),
                    "since": window.since.isoformat(),
                    "until": window.until.isoformat(),
                },
                result_count=len(result_ids),
                result_ids=result_ids,
                details={"narrowed": window.narrowed, "partner_ori": agreement.partner_ori},
            )
        return PartnerSearchReply(
            search_id=request.search_id,
            agreement_id=agreement.id,
            partner_ori=agreement.partner_ori,
            since=window.since,
            until=window.until,
            narrowed=window.narrowed,
            # a corrected read says so (`version`), but not which of our rows it replaced: that id is ours alone
            reads=[read.model_copy(update={"supersedes": None}) for read in result.reads],
            truncated=result.truncated,
        )

    async def shareable_hotlists(self, request: CredentialsRequest) -> ShareableList:
        """Our shareable entries, for a partner whose agreement grants `hotlists:read`."""
        now = datetime.now(UTC)
        async with self.uow() as session:
            agreement = await self._standing(session, request.credentials, now)
            require_scope(agreement, request.credentials, Scope.HOTLISTS_READ)
        shared = await self.bus.call(HOTLIST_SHAREABLE, ShareableQuery())
        entries = [f"{e.state or ''}:{e.plate}" for e in shared.entries]
        async with self.changes(request.audit) as change:
            await repository.record_share(
                change.session,
                entry=LedgerRow(
                    agreement_id=agreement.id,
                    agreement_version=agreement.version,
                    partner_ori=agreement.partner_ori,
                    client_id=request.credentials.client_id,
                    action="hotlists_read",
                    requester={},
                    on_behalf_of={},
                    purpose={},
                    query={"generated_at": shared.generated_at.isoformat()},
                    result_ids=entries,
                ),
            )
            change.complete(result_count=len(entries), result_ids=entries)
        return shared

    async def partner_hotlist(self, request: PartnerHotlistPut) -> PartnerUpsertReply:
        """A partner's whole list; records keeps each entry 24 hours past its last refresh (C5)."""
        now = datetime.now(UTC)
        async with self.uow() as session:
            agreement = await self._standing(session, request.credentials, now)
            require_scope(agreement, request.credentials, Scope.HOTLISTS_WRITE)
            partner = await repository.get_partner(session, ori=agreement.partner_ori)
        entries = [_partner_entry(index, raw, now) for index, raw in enumerate(request.entries)]
        check_partner_list(entries)
        upsert = PartnerUpsert(
            partner_ori=agreement.partner_ori,
            agreement_id=agreement.id,
            partner_name=partner.name if partner else None,
            entries=entries,
            audit=request.audit,  # records commits the list only once this record is persisted
        )
        return await self.bus.call(HOTLIST_PARTNER_UPSERT, upsert, timeout=CHANGE_TIMEOUT_S)

    async def _standing(self, session: Any, credentials: Any, now: datetime) -> Any:
        client = await repository.get_client(session, client_id=credentials.client_id)
        row = await repository.current_agreement(session, agreement_id=credentials.agreement_id)
        return standing_agreement(credentials, client, row, now)


def _partner_entry(index: int, raw: dict[str, Any], now: datetime) -> PartnerEntryIn:
    """A partner's entry; one without a refresh time was refreshed now, and none is refreshed later."""
    try:
        entry = PartnerEntryIn.model_validate({"refreshed_at": now, **raw})
    except ValidationError as err:
        fields = sorted({".".join(str(p) for p in e["loc"]) for e in err.errors()})
        raise InvalidInput(
            f"Entry {index} is not valid", code="invalid_hotlist_entry", index=index, fields=fields
        ) from None
    for moment in (entry.refreshed_at, entry.entered_at):
        if moment is not None and moment.tzinfo is None:
            raise InvalidInput(f"Entry {index} has a time without a zone", code="naive_datetime", index=index)
    # a clock a little ahead of ours is tolerated (and its times cut to now); an entry from the future is not
    if entry.entered_at is not None and entry.entered_at > now + timedelta(seconds=DEFAULT_CLOCK_SKEW_S):
        raise InvalidInput(f"Entry {index} was entered in the future", code="entered_in_future", index=index)
    check_wildcard(entry.plate, index=index)
    entered = None if entry.entered_at is None else min(entry.entered_at, now)
    return entry.model_copy(update={"refreshed_at": min(entry.refreshed_at, now), "entered_at": entered})
