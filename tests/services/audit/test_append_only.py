"""A6 and D1 in the database: the audit role only appends; auditor and admin are never one person."""

from __future__ import annotations

import asyncpg
import pytest

from libs.common.contracts.audit import EventType
from libs.common.errors import InvalidInput
from services.gateway.service import check_roles
from tests.utils.access_log import full_event, record

pytestmark = pytest.mark.asyncio(loop_scope="session")

TABLES = (
    "access_records",
    "checkpoints",
    "audit_samples",
    "audit_sample_items",
    "audit_findings",
    "completeness_checks",
)


async def as_audit_role(system) -> asyncpg.Connection:  # type: ignore[no-untyped-def]
    dsn = system.stack.pg.url_for("alpr_audit").replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn, server_settings={"search_path": "audit"})
    assert await conn.fetchval("SELECT current_user") == "alpr_audit"
    return conn


class TestTheServiceRoleOnlyAppends:
    @pytest.mark.parametrize("table", TABLES)
    async def test_update_delete_truncate_are_refused(self, system, table) -> None:
        await record(system, full_event(EventType.SEARCH))
        conn = await as_audit_role(system)
        try:
            assert await conn.fetchval(f"SELECT count(*) >= 0 FROM {table}")  # it may read
            column = "ok" if table == "completeness_checks" else ("seq" if table == "access_records" else "sample_id")
            if table == "checkpoints":
                column = "tree_size"
            if table == "audit_findings":
                column = "notes"
            for statement in (f"UPDATE {table} SET {column} = {column}", f"DELETE FROM {table}", f"TRUNCATE {table}"):
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await conn.execute(statement)
        finally:
            await conn.close()

    async def test_it_cannot_disable_the_triggers(self, system) -> None:
        conn = await as_audit_role(system)
        try:
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute("ALTER TABLE access_records DISABLE TRIGGER USER")
        finally:
            await conn.close()

    async def test_the_triggers_refuse_the_superuser_too(self, system, admin_db) -> None:
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await admin_db.execute("UPDATE audit.access_records SET payload = payload WHERE seq = 1")
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await admin_db.execute(
                "DELETE FROM audit.access_records WHERE seq = (SELECT max(seq) FROM audit.access_records)"
            )


class TestAuditorIsNeverAdmin:
    async def test_the_registry_refuses_both_roles_on_one_person(self, admin_db) -> None:
        for roles in (["auditor", "admin"], ["admin", "auditor"]):
            with pytest.raises(asyncpg.CheckViolationError, match="auditor_never_admin"):
                await admin_db.execute("UPDATE gateway.persons SET roles = $1 WHERE sub = 'dev-auditor'", roles)
            with pytest.raises(asyncpg.CheckViolationError, match="auditor_never_admin"):
                await admin_db.execute("UPDATE gateway.persons SET roles = $1 WHERE sub = 'dev-admin'", roles)
        assert await admin_db.fetchval("SELECT roles FROM gateway.persons WHERE sub = 'dev-auditor'") == ["auditor"]

    async def test_the_rule_refuses_both_roles(self) -> None:
        with pytest.raises(InvalidInput) as refused:
            check_roles(["admin", "auditor"])
        assert refused.value.code == "auditor_admin_conflict"
        check_roles(["auditor"])
        check_roles(["admin"])
