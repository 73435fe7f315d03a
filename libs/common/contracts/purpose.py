"""The authorized uses of POLICY.md and the purpose fields every data access carries."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from libs.common.validation import Line, Note


class AuthorizedUse(StrEnum):
    STOLEN_OR_WANTED_VEHICLE = "stolen_or_wanted_vehicle"
    WANTED_SUSPECT = "wanted_suspect"
    VIOLENT_CRIME_WITNESS_OR_VICTIM = "violent_crime_witness_or_victim"
    AT_RISK_MISSING_PERSON = "at_risk_missing_person"
    MULTI_AGENCY_CRIMINAL_INVESTIGATION = "multi_agency_criminal_investigation"
    SPECIAL_EVENT_PROTECTION = "special_event_protection"
    CRITICAL_INFRASTRUCTURE_PROTECTION = "critical_infrastructure_protection"


AUTHORIZED_USE_TEXT: dict[AuthorizedUse, str] = {
    AuthorizedUse.STOLEN_OR_WANTED_VEHICLE: "Locate stolen or wanted vehicles, and vehicles that are the subject "
    "of a legitimate law enforcement investigation",
    AuthorizedUse.WANTED_SUSPECT: "Locate and apprehend suspects that are lawfully sought by law enforcement",
    AuthorizedUse.VIOLENT_CRIME_WITNESS_OR_VICTIM: "Locate witnesses and victims of violent crime",
    AuthorizedUse.AT_RISK_MISSING_PERSON: "Locate at-risk missing persons (including responding to Amber and "
    "Silver Alerts)",
    AuthorizedUse.MULTI_AGENCY_CRIMINAL_INVESTIGATION: "Support local, state, and federal safety departments in "
    "the identification of vehicles associated with targets of criminal investigations, including "
    "investigations of serial crimes",
    AuthorizedUse.SPECIAL_EVENT_PROTECTION: "Protect participants at special events",
    AuthorizedUse.CRITICAL_INFRASTRUCTURE_PROTECTION: "Protect critical infrastructure sites",
}


class Purpose(BaseModel):
    """Why a person asks: one of the seven uses, a case number and a narrative reason."""

    use: AuthorizedUse = Field(examples=["stolen_or_wanted_vehicle"])
    case_number: Line = Field(min_length=1, max_length=64, examples=["SJ-2026-004211"])
    reason: Note = Field(min_length=1, max_length=2000, examples=["Vehicle reported stolen at knifepoint on 11/27"])
