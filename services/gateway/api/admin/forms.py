"""Request bodies of the personnel registry, each with the example the OpenAPI schema shows."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class PersonCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "sub": "jdoe@sjpd.example",
                    "name": "Jane Doe",
                    "badge": "4711",
                    "unit": "BFO Investigations",
                    "roles": ["officer"],
                    "user_class": "sworn",
                }
            ]
        }
    )

    sub: str = Field(min_length=1, max_length=200, description="The subject the identity provider asserts")
    name: str = Field(min_length=1, max_length=200)
    badge: str = Field(min_length=1, max_length=32)
    unit: str = Field(default="", max_length=200)
    roles: list[str] = Field(min_length=1)
    user_class: str


class TrainingIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "course": "ALPR use and privacy (Policy 4207)",
                    "completed_at": "2026-11-02T17:00:00Z",
                    "expires_at": "2027-11-02T17:00:00Z",
                }
            ]
        }
    )

    course: str = Field(min_length=3, max_length=200)
    completed_at: AwareDatetime
    expires_at: AwareDatetime


class RolesChange(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"roles": ["analyst"], "user_class": "analyst"}]})

    roles: list[str] = Field(min_length=1)
    user_class: str


class StatusNote(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"reason": "Left the department on 11/30"}]})

    reason: str = Field(min_length=5, max_length=500)
