"""A partner search stays inside its agreement: scope, authorized use and look-back."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from libs.common.errors import Forbidden, InvalidInput
from services.sharing.partners.agreements import AgreementStatus, authorize_partner_search, effective_status


def search(agreement, now, **overrides):
    args = {
        "scope": "reads:search",
        "use": "stolen_or_wanted_vehicle",
        "since": now - timedelta(days=7),
        "until": now - timedelta(days=1),
        "now": now,
    }
    return authorize_partner_search(agreement, **{**args, **overrides})


class TestAuthorizePartnerSearch:
    def test_window_inside_the_agreement_is_kept(self, agreement, now):
        window = search(agreement, now)
        assert (window.since, window.until, window.narrowed) == (
            now - timedelta(days=7),
            now - timedelta(days=1),
            False,
        )

    def test_window_is_narrowed_to_the_look_back_and_to_now(self, agreement, now):
        window = search(agreement, now, since=now - timedelta(days=90), until=now + timedelta(days=1))
        assert (window.since, window.until, window.narrowed) == (now - timedelta(days=30), now, True)

    def test_open_window_gets_the_look_back(self, agreement, now):
        window = search(agreement, now, since=None, until=None)
        assert (window.since, window.until) == (now - timedelta(days=30), now)

    def test_window_wholly_beyond_the_look_back_is_refused(self, agreement, now):
        with pytest.raises(Forbidden) as refused:
            search(agreement, now, since=now - timedelta(days=90), until=now - timedelta(days=31))
        assert refused.value.code == "lookback_exceeded"

    def test_scope_not_in_agreement_is_refused(self, agreement, now):
        with pytest.raises(Forbidden) as refused:
            search(agreement, now, scope="hotlists:write")
        assert refused.value.code == "scope_not_granted"

    def test_scope_not_in_token_is_refused(self, agreement, now):
        with pytest.raises(Forbidden) as refused:
            search(agreement, now, token_scopes=frozenset({"hotlists:read"}))
        assert refused.value.code == "scope_not_granted"

    @pytest.mark.parametrize("use", ["special_event_protection", "immigration_enforcement"])
    def test_use_not_in_agreement_is_refused(self, agreement, now, use):
        with pytest.raises(Forbidden) as refused:
            search(agreement, now, use=use)
        assert refused.value.code == "use_not_allowed"

    @pytest.mark.parametrize("status", [AgreementStatus.REVOKED, AgreementStatus.SUPERSEDED])
    def test_ended_agreement_is_refused(self, agreement, now, status):
        with pytest.raises(Forbidden) as refused:
            search(agreement.model_copy(update={"status": status}), now)
        assert refused.value.code == "agreement_inactive"

    def test_expired_agreement_is_refused(self, agreement, now):
        later = agreement.expires_at + timedelta(seconds=1)
        assert effective_status(agreement, later) is AgreementStatus.EXPIRED
        with pytest.raises(Forbidden) as refused:
            search(agreement, later)
        assert refused.value.code == "agreement_inactive"

    def test_agreement_not_yet_effective_is_refused(self, agreement, now):
        with pytest.raises(Forbidden) as refused:
            search(agreement, agreement.effective_from - timedelta(days=1))
        assert refused.value.code == "agreement_inactive"

    def test_reversed_window_is_invalid(self, agreement, now):
        with pytest.raises(InvalidInput) as refused:
            search(agreement, now, since=now - timedelta(days=1), until=now - timedelta(days=2))
        assert refused.value.code == "invalid_window"

    def test_naive_times_are_invalid(self, agreement, now):
        with pytest.raises(InvalidInput) as refused:
            search(agreement, now, since=datetime(2026, 11, 20))
        assert refused.value.code == "naive_datetime"
