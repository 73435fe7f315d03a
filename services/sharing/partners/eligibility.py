"""Who may be a partner or a beneficiary: California state and local public agencies only (C1, C2, C7)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from libs.common.errors import Forbidden, InvalidInput
from services.sharing.partners.agency_names import names_business, names_federal_agency


class PartnerKind(StrEnum):
    CA_STATE_AGENCY = "ca_state_agency"
    CA_LOCAL_AGENCY = "ca_local_agency"
    FEDERAL = "federal"
    OUT_OF_STATE = "out_of_state"
    PRIVATE = "private"
    COMMERCIAL = "commercial"
    TRIBAL_OR_OTHER = "tribal_or_other"


# Civil Code 1798.90.55(b) and AG bulletin 2023-DLE-06: only California public agencies; everything else,
# tribal agencies included, is outside "state or local public agency" and refused.
ELIGIBLE_KINDS = frozenset({PartnerKind.CA_STATE_AGENCY, PartnerKind.CA_LOCAL_AGENCY})

NOT_CALIFORNIA_PUBLIC = "partner_not_california_public"
BENEFICIARY_NOT_CALIFORNIA_PUBLIC = "beneficiary_not_california_public"

# NCIC ORI: two-letter state code then seven letters or digits.
ORI_PATTERN = re.compile(r"^[A-Z]{2}[A-Z0-9]{7}$")

# A California ORI: CA, the county's three-digit code (001 Alameda to 058 Yuba, the state's agencies under
# the county they sit in), then four letters or digits.
CALIFORNIA_ORI = re.compile(r"^CA(?:00[1-9]|0[1-4][0-9]|05[0-8])[A-Z0-9]{4}$")

# Federal field offices' ORIs commonly carry the agency's initials after the state (CAFBI…); California
# local ORIs are numeric there, so this refuses no eligible agency.
FEDERAL_ORI_INITIALS = ("FBI", "DEA", "ATF", "ICE", "CBP", "USM", "DHS", "HSI", "INS")


@dataclass(frozen=True, slots=True)
class PartnerAgency:
    """A California public agency that may hold an agreement."""

    ori: str
    name: str
    kind: PartnerKind
    state: str


@dataclass(frozen=True, slots=True)
class Beneficiary:
    """The agency a partner search is for, as the partner names it."""

    ori: str
    name: str


def normalize_ori(ori: str) -> str:
    """Upper-case and check an ORI's shape; refuse anything that is not nine NCIC characters."""
    value = ori.strip().upper()
    if not ORI_PATTERN.fullmatch(value):
        raise InvalidInput("An ORI is a state code and seven letters or digits", code="invalid_ori")
    return value


def require_california_ori(ori: str) -> None:
    """Refuse a CA ORI whose county code is none of California's 58 (a typo or a made-up code)."""
    if not CALIFORNIA_ORI.fullmatch(ori):
        raise InvalidInput("A California ORI is CA, a county code 001-058 and four more", code="invalid_ori")


def refuse_by_name(name: str, code: str) -> None:
    """A federal agency or a business is refused by its name, whatever its kind or ORI says (C1, C7)."""
    if names_federal_agency(name):
        raise Forbidden("A federal agency cannot be a partner or beneficiary", code=code)
    if names_business(name):
        raise Forbidden("A company or private body cannot be a partner or beneficiary", code=code)


def is_federal_ori(ori: str) -> bool:
    """Whether an ORI carries a federal agency's initials after the state code."""
    return ori[2:5] in FEDERAL_ORI_INITIALS


def validate_partner(ori: str, name: str, kind: PartnerKind | str, state: str) -> PartnerAgency:
    """Return the partner if it is a California state or local public agency; refuse anything else."""
    ori = normalize_ori(ori)
    name = " ".join(name.split())
    if not name:
        raise InvalidInput("A partner agency needs a name", code="invalid_partner_name")
    try:
        kind = PartnerKind(kind)
    except ValueError:
        raise InvalidInput(f"Unknown partner kind {kind!r}", code="invalid_partner_kind") from None
    state = state.strip().upper()
    if kind not in ELIGIBLE_KINDS:
        raise Forbidden(f"A {kind.value} entity cannot be a partner", code=NOT_CALIFORNIA_PUBLIC)
    if state != "CA" or not ori.startswith("CA"):
        raise Forbidden("Only California agencies can be partners", code=NOT_CALIFORNIA_PUBLIC)
    if is_federal_ori(ori):
        raise Forbidden("A federal agency cannot be a partner", code=NOT_CALIFORNIA_PUBLIC)
    refuse_by_name(name, NOT_CALIFORNIA_PUBLIC)
    require_california_ori(ori)
    return PartnerAgency(ori=ori, name=name, kind=kind, state=state)


def validate_beneficiary(agency_ori: str, agency_name: str) -> Beneficiary:
    """Return the agency a partner search is for, refusing a non-California, federal or commercial one (C2, C7)."""
    try:
        ori = normalize_ori(agency_ori)
    except InvalidInput as err:
        raise InvalidInput(err.message, code="invalid_beneficiary_ori") from None
    name = " ".join(agency_name.split())
    if not name:
        raise InvalidInput("A partner search names the agency it is for", code="invalid_beneficiary_name")
    if not ori.startswith("CA") or is_federal_ori(ori):
        raise Forbidden("The agency searched for must be Californian", code=BENEFICIARY_NOT_CALIFORNIA_PUBLIC)
    refuse_by_name(name, BENEFICIARY_NOT_CALIFORNIA_PUBLIC)
    try:
        require_california_ori(ori)
    except InvalidInput as err:
        raise InvalidInput(err.message, code="invalid_beneficiary_ori") from None
    return Beneficiary(ori=ori, name=name)
