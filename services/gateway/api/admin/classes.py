"""User classes (the data limits admins set) and the permission matrix, which is data."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from libs.common.contracts.audit import EventType
from services.gateway import repository
from services.gateway.api.admin.changes import record_change
from services.gateway.api.deps import Admin, ChangesDep, SessionDep
from services.gateway.models import UserClass
from services.gateway.service import PERMISSIONS

router = APIRouter(prefix="/v1/admin", tags=["admin"])


class UserClassIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"max_lookback_days": 30, "allow_partial": False, "allow_area": False, "allow_images": True}]
        },
    )

    max_lookback_days: int = Field(ge=1, le=365)
    allow_partial: bool = False
    allow_area: bool = False
    allow_images: bool = False


class UserClassView(UserClassIn):
    model_config = ConfigDict(extra="ignore")  # built from the stored row, which has more

    name: str


def permission_matrix() -> dict[str, list[str]]:
    """Permission → the roles that hold it, as served to admins and published with the policy."""
    return {permission: sorted(roles) for permission, roles in sorted(PERMISSIONS.items())}


@router.get("/permissions", response_model=dict[str, list[str]])
async def permissions(principal: Admin) -> dict[str, list[str]]:
    return permission_matrix()


@router.get("/user-classes", response_model=list[UserClassView])
async def list_user_classes(principal: Admin, session: SessionDep) -> list[UserClassView]:
    return [UserClassView(**c.model_dump()) for c in await repository.list_user_classes(session)]


@router.put("/user-classes/{name}", response_model=UserClassView)
async def put_user_class(name: str, body: UserClassIn, principal: Admin, changes: ChangesDep) -> UserClassView:
    """Create or change a class; people of the class get the new limits on their next request."""
    async with changes() as change:
        session = change.session
        current = await repository.get_user_class(session, name=name)
        before = current.model_dump() if current else None
        user_class = current or UserClass(name=name, max_lookback_days=body.max_lookback_days)
        for field, value in body.model_dump().items():
            setattr(user_class, field, value)
        await repository.save(session, user_class)
        after = user_class.model_dump()
        record_change(
            change,
            principal,
            event_type=EventType.ADMIN_CHANGE,
            subject=f"user_class:{name}",
            change="user_class_changed" if current else "user_class_created",
            before=before,
            after=after,
        )
        return UserClassView(**after)
