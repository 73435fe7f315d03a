"""Only California state and local public agencies become partners or beneficiaries (C1, C2, C7)."""

from __future__ import annotations

import pytest

from libs.common.errors import Forbidden, InvalidInput
from services.sharing.partners.eligibility import PartnerKind, validate_beneficiary, validate_partner


class TestValidatePartner:
    def test_california_local_agency_is_accepted(self):
        partner = validate_partner(" ca0410000 ", "Santa Clara  County Sheriff", "ca_local_agency", "ca")
        assert (partner.ori, partner.name, partner.kind, partner.state) == (
            "CA0410000",
            "Santa Clara County Sheriff",
            PartnerKind.CA_LOCAL_AGENCY,
            "CA",
        )

    def test_california_state_agency_is_accepted(self):
        assert validate_partner("CA0349400", "California Highway Patrol", "ca_state_agency", "CA").ori

    @pytest.mark.parametrize(
        ("ori", "name", "kind", "state"),
        [
            ("DCFBIWA00", "Federal Bureau of Investigation", PartnerKind.FEDERAL, "DC"),
            ("NV0020000", "Las Vegas Metropolitan Police", PartnerKind.OUT_OF_STATE, "NV"),
            ("CA0439999", "Flock Safety Inc.", PartnerKind.COMMERCIAL, "CA"),
            ("CA0439998", "Acme Repossession", PartnerKind.PRIVATE, "CA"),
            ("CA0439997", "Tribal Police", PartnerKind.TRIBAL_OR_OTHER, "CA"),
        ],
    )
    def test_ineligible_kinds_are_refused(self, ori, name, kind, state):
        with pytest.raises(Forbidden) as refused:
            validate_partner(ori, name, kind, state)
        assert refused.value.code == "partner_not_california_public"
        assert refused.value.status == 403

    def test_out_of_state_ori_is_refused_even_if_kind_says_local(self):
        with pytest.raises(Forbidden) as refused:
            validate_partner("NV0020000", "Reno Police Department", "ca_local_agency", "CA")
        assert refused.value.code == "partner_not_california_public"

    def test_out_of_state_address_is_refused(self):
        with pytest.raises(Forbidden):
            validate_partner("CA0020000", "Reno Police Department", "ca_local_agency", "NV")

    @pytest.mark.parametrize(
        "name",
        [
            "FBI San Francisco Field Office",
            "DEA Task Force San Jose",
            "ICE ERO San Francisco",
            "U.S. Customs and Border Protection",
            "US Marshals Northern California",
            "Department of Homeland Security",
            "HSI San Jose",
            "ATF Oakland",
        ],
    )
    def test_federal_name_posing_as_local_is_refused(self, name):
        with pytest.raises(Forbidden) as refused:
            validate_partner("CA0439000", name, "ca_local_agency", "CA")
        assert refused.value.code == "partner_not_california_public"

    def test_federal_initials_in_ori_are_refused(self):
        with pytest.raises(Forbidden):
            validate_partner("CAFBISF00", "San Francisco Task Force", "ca_local_agency", "CA")

    @pytest.mark.parametrize("name", ["San Jose Police Department", "Alameda County District Attorney"])
    def test_police_in_a_name_is_not_mistaken_for_ice(self, name):
        assert validate_partner("CA0010000", name, "ca_local_agency", "CA").name == name

    @pytest.mark.parametrize("ori", ["CA123", "CA04100000", "C10410000", "CA04100-0"])
    def test_malformed_ori_is_invalid_input(self, ori):
        with pytest.raises(InvalidInput) as refused:
            validate_partner(ori, "Some Police Department", "ca_local_agency", "CA")
        assert refused.value.code == "invalid_ori"

    def test_unknown_kind_is_invalid_input(self):
        with pytest.raises(InvalidInput) as refused:
            validate_partner("CA0010000", "Some Police Department", "university", "CA")
        assert refused.value.code == "invalid_partner_kind"


class TestValidateBeneficiary:
    def test_california_agency_is_accepted(self):
        beneficiary = validate_beneficiary("ca0430000", "Santa Clara County District Attorney")
        assert beneficiary.ori == "CA0430000"

    def test_out_of_state_agency_is_refused(self):
        with pytest.raises(Forbidden) as refused:
            validate_beneficiary("AZ0070000", "Phoenix Police Department")
        assert refused.value.code == "beneficiary_not_california_public"

    def test_federal_agency_is_refused_even_with_a_california_ori(self):
        with pytest.raises(Forbidden) as refused:
            validate_beneficiary("CA0439000", "Immigration and Customs Enforcement")
        assert refused.value.code == "beneficiary_not_california_public"

    def test_missing_name_is_invalid_input(self):
        with pytest.raises(InvalidInput):
            validate_beneficiary("CA0430000", "  ")
