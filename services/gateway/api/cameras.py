"""Camera registry for admins: register, issue credentials, enable or disable, see who went silent.

Each change commits only once its access record is persisted: no credential is issued unrecorded.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from libs.common.contracts.audit import AuditEvent, EventType
from libs.common.errors import Conflict, NotFound
from libs.common.validation import Line
from services.gateway import repository
from services.gateway.api.deps import ChangesDep, SessionDep, StateDep, require
from services.gateway.models import Camera
from services.gateway.service import Principal, actor_of, new_camera_credential

router = APIRouter(prefix="/v1/admin/cameras", tags=["cameras"])
CameraAdmin = Annotated[Principal, require("admin:cameras")]
SILENT_AFTER = timedelta(minutes=15)


class CameraIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",  # an unknown field is a 422 naming it: a misspelt `lattitude` must not register no position
        json_schema_extra={
            "examples": [
                {
                    "camera_id": "sj-story-rd-eb",
                    "vendor": "openalpr",
                    "name": "Story Rd eastbound",
                    "model": "Rekor Scout",
                    "latitude": 37.33,
                    "longitude": -121.86,
                    "heading": 90,
                }
            ]
        },
    )

    camera_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    vendor: Line = Field(min_length=1, max_length=32)
    name: Line = Field(default="", max_length=200)
    model: Line = Field(default="", max_length=200)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    heading: float | None = Field(default=None, ge=0, lt=360)


class CameraOut(BaseModel):
    camera_id: str
    agency: str
    vendor: str
    name: str
    model: str
    latitude: float | None
    longitude: float | None
    heading: float | None
    enabled: bool
    last_seen_at: datetime | None
    silent: bool
    refused_count: int


class CredentialOut(BaseModel):
    camera_id: str
    credential: str = Field(description="Shown once; only a hash is stored")


class EnabledIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"enabled": False}]})

    enabled: bool


def _out(camera: Camera, now: datetime) -> CameraOut:
    silent = camera.enabled and (camera.last_seen_at is None or now - camera.last_seen_at > SILENT_AFTER)
    return CameraOut(**camera.model_dump(include=set(CameraOut.model_fields) - {"silent"}), silent=silent)


def _record(principal: Principal, request: Request, action: str, camera_id: str) -> AuditEvent:
    return AuditEvent(
        event_type=EventType.ADMIN_CHANGE,
        actor=actor_of(principal),
        client_address=request.client.host if request.client else None,
        query={"camera_id": camera_id},
        details={"action": action},
    )


@router.post("", status_code=201, response_model=CredentialOut)
async def register_camera(
    body: CameraIn, request: Request, principal: CameraAdmin, rt: StateDep, changes: ChangesDep
) -> CredentialOut:
    """Register a camera of this agency and issue its first credential."""
    credential, credential_id, secret_hash = new_camera_credential(body.camera_id)
    record = _record(principal, request, "camera_registered", body.camera_id)
    async with changes(record) as change:
        session = change.session
        if await repository.get_camera(session, camera_id=body.camera_id):
            raise Conflict("a camera with this id exists", code="camera_exists")
        camera = Camera(
            **body.model_dump(),
            agency=rt.settings.agency,
            credential_id=credential_id,
            credential_hash=secret_hash,
            created_at=datetime.now(UTC),
        )
        await repository.save(session, camera)
    return CredentialOut(camera_id=body.camera_id, credential=credential)


@router.post("/{camera_id}/credentials", status_code=201, response_model=CredentialOut)
async def rotate_credential(
    camera_id: str, request: Request, principal: CameraAdmin, rt: StateDep, changes: ChangesDep
) -> CredentialOut:
    """Issue a new credential; the old one stops working at once."""
    credential, credential_id, secret_hash = new_camera_credential(camera_id)
    record = _record(principal, request, "camera_credential_rotated", camera_id)
    async with changes(record) as change:
        session = change.session
        camera = await repository.get_camera(session, camera_id=camera_id)
        if camera is None:
            raise NotFound("no such camera", code="camera_not_found")
        camera.credential_id, camera.credential_hash = credential_id, secret_hash
        await repository.save(session, camera)
    rt.camera_credentials.forget()
    return CredentialOut(camera_id=camera_id, credential=credential)


@router.put("/{camera_id}/enabled", response_model=CameraOut)
async def set_enabled(
    camera_id: str, body: EnabledIn, request: Request, principal: CameraAdmin, rt: StateDep, changes: ChangesDep
) -> CameraOut:
    """Enable or disable a camera; a disabled camera's reads are refused and counted."""
    record = _record(principal, request, "camera_enabled" if body.enabled else "camera_disabled", camera_id)
    async with changes(record) as change:
        session = change.session
        camera = await repository.get_camera(session, camera_id=camera_id)
        if camera is None:
            raise NotFound("no such camera", code="camera_not_found")
        camera.enabled = body.enabled
        await repository.save(session, camera)
    rt.camera_credentials.forget()
    return _out(camera, datetime.now(UTC))


@router.get("", response_model=list[CameraOut])
async def list_cameras(principal: CameraAdmin, session: SessionDep) -> list[CameraOut]:
    """Every camera with its last-seen time; `silent` flags one not heard from in 15 minutes."""
    cameras = await repository.list_cameras(session)
    now = datetime.now(UTC)
    return [_out(c, now) for c in cameras]
