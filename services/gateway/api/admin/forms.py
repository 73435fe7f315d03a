"""Request bodies of the personnel registry, each with the example the OpenAPI schema shows.

An unknown field is refused (422 naming it), never ignored: a misspelt field must not pass as left out.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from libs.common.validation import Line, Note
from services.gateway.policy.training import TrainingTopic

RoleName = Annotated[Line, Field(max_length=64)]


class PersonCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
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
        },
    )

    sub: Line = Field(min_length=1, max_length=200, description="The subject the identity provider asserts")
    name: Line = Field(min_length=1, max_length=200)
    badge: Line = Field(min_length=1, max_length=32)
    unit: Line = Field(default="", max_length=200)
    roles: list[RoleName] = Field(min_length=1, max_length=20)
    user_class: Line = Field(max_length=64)


class TrainingIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "course": "ALPR use and privacy (Policy 4207)",
                    "topics": [t.value for t in TrainingTopic],
                    "completed_at": "2026-11-02T17:00:00Z",
                    "expires_at": "2027-11-02T17:00:00Z",
                }
            ]
        },
    )

    course: Line = Field(min_length=3, max_length=200)
    topics: list[TrainingTopic] = Field(
        min_length=1, max_length=len(TrainingTopic), description="The policy's training topics this course covered"
    )
    completed_at: AwareDatetime
    expires_at: AwareDatetime


class RolesChange(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"roles": ["analyst"], "user_class": "analyst"}]}
    )

    roles: list[RoleName] = Field(min_length=1, max_length=20)
    user_class: Line = Field(max_length=64)


class StatusNote(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "Left the department on 11/30"}]}
    )

    reason: Note = Field(min_length=5, max_length=500)
