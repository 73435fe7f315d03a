"""Who may be a partner or a beneficiary: California state and local public agencies only (C1, C2, C7)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from libs.common.errors import Forbidden, InvalidInput


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

# Defence in depth: a kind is typed by a person and can be wrong, so a name that betrays a federal
# agency is refused even when the kind says local. False refusals are cheap; a federal partner is not.
FEDERAL_NAME = re.compile(
    r"\b(FBI|DEA|ICE|CBP|HSI|ATF|USMS|DHS|ERO)\b"
    r"|\bU\.\s?S\.|\bUS\s+(MARSHALS?|ATTORNEY|DEPARTMENT|DEPT|CUSTOMS|BORDER|IMMIGRATION)\b"
    r"|\bUNITED\s+STATES\b|\bFEDERAL\b|\bMARSHALS?\s+SERVICE\b|\bHOMELAND\s+SECURITY\s+INVESTIGATIONS\b"
    r"|\bDEPARTMENT\s+OF\s+HOMELAND\s+SECURITY\b|\bIMMIGRATION\s+AND\s+CUSTOMS\b|\bCUSTOMS\s+AND\s+BORDER\b"
    r"|\bBORDER\s+PATROL\b|\bDRUG\s+ENFORCEMENT\s+ADMINISTRATION\b|\bBUREAU\s+OF\s+ALCOHOL\b"
    r"|\bSECRET\s+SERVICE\b",
    re.IGNORECASE,
)

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


def names_federal_agency(name: str) -> bool:
    """Whether an agency name reads as a federal agency."""
    return FEDERAL_NAME.search(name) is not None


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
    if names_federal_agency(name) or is_federal_ori(ori):
        raise Forbidden("A federal agency cannot be a partner", code=NOT_CALIFORNIA_PUBLIC)
    return PartnerAgency(ori=ori, name=name, kind=kind, state=state)


def validate_beneficiary(agency_ori: str, agency_name: str) -> Beneficiary:
    """Return the agency a partner search is for, refusing a non-California or federal one (C2)."""
    try:
        ori = normalize_ori(agency_ori)
    except InvalidInput as err:
        raise InvalidInput(err.message, code="invalid_beneficiary_ori") from None
    name = " ".join(agency_name.split())
    if not name:
        raise InvalidInput("A partner search names the agency it is for", code="invalid_beneficiary_name")
    if not ori.startswith("CA"):
        raise Forbidden("The agency searched for must be Californian", code=BENEFICIARY_NOT_CALIFORNIA_PUBLIC)
    if names_federal_agency(name) or is_federal_ori(ori):
        raise Forbidden("No search is made for a federal agency", code=BENEFICIARY_NOT_CALIFORNIA_PUBLIC)
    return Beneficiary(ori=ori, name=name)
