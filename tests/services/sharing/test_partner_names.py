"""A typo in a partner's kind cannot make a business or a federal agency a partner (C1, C7; issue #22 item 7)."""

from __future__ import annotations

import pytest

from libs.common.errors import Forbidden, InvalidInput
from services.sharing.partners.eligibility import validate_beneficiary, validate_partner

REFUSED = [
    "Vigilant Solutions",
    "Acme Technologies LLC",
    "FBI Sacramento Field Office",
    "U.S. Marshals",
    "United States Marshals Service",
    "Federal Protective Service",
    "Homeland Security Investigations",
    "Flock Safety Inc.",
    "Motorola Solutions",
    "Bay Area Plate Systems Corp.",
    "GEO Group",
    "Vіgilant Sоlutions",  # Cyrillic і and о
    "ＶＩＧＩＬＡＮＴ ＳＯＬＵＴＩＯＮＳ",  # full-width
    "FВI Sacramento",  # Cyrillic В
    "F.B.I. Sacramento",
    "D E A Task Force",
    "Acme Techn\u200bologies L.L.C.",  # zero-width space, dotted initials
    "S0lutions Unlimited",  # a digit for a letter
    "U S Marshals",
    "Ηomeland Security",  # Greek Η
]
ALLOWED = [
    "California Department of Justice Bureau of Investigation",
    "Santa Clara County Sheriff",
    "Santa Clara Co. Sheriff's Office",
    "National City Police Department",
    "Office of the State Fire Marshal",
    "Santa Clara County District Attorney Bureau of Investigation",
    "Santa Clara County Crime Laboratory",
    "Alameda County Regional Auto Theft Task Force",
]


class TestNamesRefusedWhateverTheKind:
    @pytest.mark.parametrize("name", REFUSED)
    def test_a_business_or_federal_name_is_refused_as_a_california_local_agency(self, name: str) -> None:
        with pytest.raises(Forbidden) as refused:
            validate_partner("CA0439000", name, "ca_local_agency", "CA")
        assert refused.value.code == "partner_not_california_public"

    @pytest.mark.parametrize("name", ["Vigilant Solutions", "U.S. Marshals", "Acme Technologies LLC"])
    def test_the_same_names_are_refused_as_a_beneficiary(self, name: str) -> None:
        with pytest.raises(Forbidden) as refused:
            validate_beneficiary("CA0430000", name)
        assert refused.value.code == "beneficiary_not_california_public"

    @pytest.mark.parametrize("name", ALLOWED)
    def test_california_public_bodies_stay_eligible(self, name: str) -> None:
        assert validate_partner("CA0349400", name, "ca_state_agency", "CA").name == name
        assert validate_beneficiary("CA0430000", name).name == name


class TestCaliforniaOri:
    @pytest.mark.parametrize("ori", ["CA0000000", "CA0590000", "CA9990000", "CA1920260", "CAX430000"])
    def test_an_ori_naming_no_california_county_is_refused(self, ori: str) -> None:
        with pytest.raises(InvalidInput) as refused:
            validate_partner(ori, "Santa Clara County Sheriff", "ca_local_agency", "CA")
        assert refused.value.code == "invalid_ori"

    @pytest.mark.parametrize("ori", ["CＡ0430000", "CA043OOOO0", "CA-043-0000", "CA０４３００００"])
    def test_a_malformed_ori_is_refused(self, ori: str) -> None:
        with pytest.raises(InvalidInput) as refused:
            validate_partner(ori, "Santa Clara County Sheriff", "ca_local_agency", "CA")
        assert refused.value.code == "invalid_ori"

    @pytest.mark.parametrize("ori", ["CA0010000", "CA0430000", "CA0580000", "CA043013A"])
    def test_every_county_code_is_accepted(self, ori: str) -> None:
        assert validate_partner(ori, "Santa Clara County Sheriff", "ca_local_agency", "CA").ori == ori

    def test_a_beneficiary_ori_naming_no_county_is_refused(self) -> None:
        with pytest.raises(InvalidInput) as refused:
            validate_beneficiary("CA0990000", "Santa Clara County Sheriff")
        assert refused.value.code == "invalid_beneficiary_ori"
