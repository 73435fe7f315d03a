"""An agreement is one set of fields: the validated agreement, the row that stores it and the view that shows it."""

from __future__ import annotations

import pytest

from libs.common.contracts.sharing import AgreementView
from services.sharing.models import AgreementRow
from services.sharing.partners.agreements import Agreement, AgreementStatus
from services.sharing.service import agreement_of, agreement_row, agreement_view


class TestAgreementRows:
    def test_the_row_and_the_view_carry_the_agreements_fields(self) -> None:
        assert set(AgreementRow.model_fields) == set(Agreement.model_fields) == set(AgreementView.model_fields)

    def test_an_agreement_survives_its_row(self, agreement: Agreement) -> None:
        patterned = agreement.model_copy(update={"case_number_pattern": r"^SC-[0-9]{4}$", "version": 3})
        row = agreement_row(patterned)
        assert row.scopes == sorted(row.scopes) and row.status == "active"
        assert agreement_of(row) == patterned

    def test_a_stored_row_that_breaks_the_rules_is_refused(self, agreement: Agreement) -> None:
        row = agreement_row(agreement)
        row.expires_at = row.effective_from
        with pytest.raises(ValueError, match="expires_at"):
            agreement_of(row)

    def test_the_view_shows_the_status_as_of_now(self, agreement: Agreement, now) -> None:  # type: ignore[no-untyped-def]
        view = agreement_view(agreement, agreement.expires_at)
        assert view.status == AgreementStatus.EXPIRED.value and agreement_view(agreement, now).status == "active"
