"""The two-person rule (C3): an admin proposes, a different custodian approves or denies, before and after kept."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from libs.common.errors import Conflict, Forbidden, InvalidInput
from services.sharing.partners.agreements import Agreement, AgreementStatus, ChangeAction, Scope
from services.sharing.partners.approvals import Actor, approve, deny, propose, propose_revocation


@pytest.fixture
def draft(agreement):
    return agreement.model_copy(update={"status": AgreementStatus.PROPOSED})


class TestPropose:
    def test_admin_proposes_a_new_agreement(self, admin, draft, partner, now):
        proposal = propose(admin, draft, partner=partner, current=None, now=now, reason="New IAA signed")
        assert proposal.action is ChangeAction.CREATE
        assert proposal.before is None
        assert proposal.after.status is AgreementStatus.PROPOSED
        assert proposal.proposed_by == admin

    def test_custodian_cannot_propose(self, custodian, draft, partner, now):
        with pytest.raises(Forbidden) as refused:
            propose(custodian, draft, partner=partner, current=None, now=now, reason="x")
        assert refused.value.code == "proposer_not_admin"

    def test_agreement_for_another_partner_is_refused(self, admin, draft, partner, now):
        other = draft.model_copy(update={"partner_ori": "CA0019999"})
        with pytest.raises(InvalidInput) as refused:
            propose(admin, other, partner=partner, current=None, now=now, reason="x")
        assert refused.value.code == "partner_mismatch"

    def test_a_reason_is_required(self, admin, draft, partner, now):
        with pytest.raises(InvalidInput) as refused:
            propose(admin, draft, partner=partner, current=None, now=now, reason="  ")
        assert refused.value.code == "reason_required"


class TestApprove:
    def test_custodian_approves_and_the_agreement_becomes_active(self, admin, custodian, draft, partner, now):
        proposal = propose(admin, draft, partner=partner, current=None, now=now, reason="New IAA signed")
        record = approve(proposal, custodian, partner=partner, current=None, now=now)
        assert record.agreement.status is AgreementStatus.ACTIVE
        assert record.agreement.version == 1
        assert record.before is None
        assert record.after["status"] == "active"
        assert record.after["scopes"] == ["hotlists:read", "reads:search"]
        assert (record.proposed_by, record.approved_by) == ("u-admin-1", "u-cust-1")

    def test_proposer_cannot_approve_own_proposal_even_as_custodian(self, draft, partner, now):
        both = Actor(subject="u-both", name="Lt. Both", roles=frozenset({"admin", "custodian"}))
        proposal = propose(both, draft, partner=partner, current=None, now=now, reason="New IAA")
        with pytest.raises(Forbidden) as refused:
            approve(proposal, both, partner=partner, current=None, now=now)
        assert refused.value.code == "approver_is_proposer"

    def test_another_admin_cannot_approve(self, admin, draft, partner, now):
        proposal = propose(admin, draft, partner=partner, current=None, now=now, reason="New IAA")
        other_admin = Actor(subject="u-admin-2", name="Sgt. B. Admin", roles=frozenset({"admin"}))
        with pytest.raises(Forbidden) as refused:
            approve(proposal, other_admin, partner=partner, current=None, now=now)
        assert refused.value.code == "approver_not_custodian"

    def test_change_records_before_and_after_and_supersedes(self, admin, custodian, agreement, partner, now):
        narrowed = agreement.model_copy(update={"scopes": frozenset({Scope.READS_SEARCH}), "max_lookback_days": 14})
        proposal = propose(admin, narrowed, partner=partner, current=agreement, now=now, reason="Amendment 1")
        record = approve(proposal, custodian, partner=partner, current=agreement, now=now)
        assert record.action is ChangeAction.CHANGE
        assert record.before is not None
        assert record.before["max_lookback_days"] == 30
        assert record.before["scopes"] == ["hotlists:read", "reads:search"]
        assert record.after["max_lookback_days"] == 14
        assert record.after["scopes"] == ["reads:search"]
        assert record.agreement.version == 2
        assert record.superseded is not None and record.superseded.status is AgreementStatus.SUPERSEDED

    def test_revocation_is_a_proposal_too(self, admin, custodian, agreement, partner, now):
        proposal = propose_revocation(admin, agreement, now=now, reason="Partner breached audit terms")
        assert proposal.action is ChangeAction.REVOKE
        record = approve(proposal, custodian, partner=partner, current=agreement, now=now)
        assert record.agreement.status is AgreementStatus.REVOKED
        assert record.before is not None and record.before["status"] == "active"
        assert record.after["status"] == "revoked"

    def test_revoked_agreement_cannot_be_changed_or_revoked_again(self, admin, agreement, partner, now):
        revoked = agreement.model_copy(update={"status": AgreementStatus.REVOKED})
        with pytest.raises(Conflict) as refused:
            propose_revocation(admin, revoked, now=now, reason="Again")
        assert refused.value.code == "agreement_not_active"
        with pytest.raises(Conflict):
            propose(admin, agreement, partner=partner, current=revoked, now=now, reason="Revive")

    def test_stale_proposal_is_refused(self, admin, custodian, agreement, partner, now):
        proposal = propose(admin, agreement, partner=partner, current=agreement, now=now, reason="Amend")
        moved_on = agreement.model_copy(update={"version": 2})
        with pytest.raises(Conflict) as refused:
            approve(proposal, custodian, partner=partner, current=moved_on, now=now)
        assert refused.value.code == "proposal_stale"

    def test_approval_after_expiry_is_refused(self, admin, custodian, draft, partner, now):
        proposal = propose(admin, draft, partner=partner, current=None, now=now, reason="New IAA")
        with pytest.raises(InvalidInput) as refused:
            approve(proposal, custodian, partner=partner, current=None, now=draft.expires_at + timedelta(days=1))
        assert refused.value.code == "agreement_already_expired"


class TestDeny:
    def test_custodian_denies_with_a_reason(self, admin, custodian, draft, partner, now):
        proposal = propose(admin, draft, partner=partner, current=None, now=now, reason="New IAA signed")
        assert deny(proposal, custodian, reason="  Digest does not match the signed copy ") == (
            "Digest does not match the signed copy"
        )

    def test_a_denial_says_why(self, admin, custodian, draft, partner, now):
        proposal = propose(admin, draft, partner=partner, current=None, now=now, reason="New IAA signed")
        with pytest.raises(InvalidInput) as refused:
            deny(proposal, custodian, reason=" ")
        assert refused.value.code == "reason_required"

    def test_only_a_custodian_other_than_the_proposer_denies(self, admin, draft, partner, now):
        both = Actor(subject="u-both", name="Lt. Both", roles=frozenset({"admin", "custodian"}))
        proposal = propose(both, draft, partner=partner, current=None, now=now, reason="New IAA")
        with pytest.raises(Forbidden) as own:
            deny(proposal, both, reason="Changed my mind")
        assert own.value.code == "approver_is_proposer"
        with pytest.raises(Forbidden) as admin_only:
            deny(proposal, admin, reason="Not mine to decide")
        assert admin_only.value.code == "approver_not_custodian"


class TestAgreementTerms:
    @pytest.mark.parametrize(
        "change",
        [
            {"allowed_uses": ["immigration_enforcement"]},
            {"scopes": ["reads:export"]},
            {"max_lookback_days": 366},
            {"scopes": []},
            {"partner_ori": "NV002"},
        ],
    )
    def test_terms_outside_the_policy_cannot_be_drafted(self, draft, change):
        with pytest.raises(ValidationError):
            Agreement.model_validate({**draft.model_dump(), **change})

    def test_expiry_must_follow_the_effective_date(self, draft):
        with pytest.raises(ValidationError):
            Agreement.model_validate({**draft.model_dump(), "expires_at": draft.effective_from})
