"""The audit unit at the gateway: search, export, proofs that verify client-side, verify, samples, flags."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import datetime
from typing import Any

import pytest

from libs.common.contracts.audit import Actor, EventType
from services.audit.ledger.chain import ChainLink
from services.audit.ledger.checkpoints import Checkpoint, verify_checkpoint
from services.audit.ledger.merkle import verify_consistency, verify_inclusion
from tests.utils.access_log import full_event, public_key, public_key_b64, record

pytestmark = pytest.mark.asyncio(loop_scope="session")


def marked_actor(tag: str) -> Actor:
    return Actor(
        kind="person", sub=f"officer-{tag}", name="Sam Roe", badge="B77", agency="CA0430000", roles=["officer"]
    )


async def audit_accesses(admin_db: Any, route: str, event_type: str = "audit_access") -> list[dict[str, Any]]:
    rows = await admin_db.fetch(
        "SELECT actor_sub, payload FROM audit.access_records WHERE event_type = $2 "
        "AND (payload::jsonb -> 'details' ->> 'route') = $1 ORDER BY seq",
        route,
        event_type,
    )
    return [{"actor_sub": r["actor_sub"], **json.loads(r["payload"])} for r in rows]


def checkpoint_of(body: dict[str, Any]) -> Checkpoint:
    at = datetime.fromisoformat(body["signed_at"])
    return Checkpoint(body["tree_size"], body["root_hash"], at, body["key_id"], body["signature"])


class TestOnlyAuditors:
    @pytest.mark.parametrize("role", ["officer", "admin", "supervisor"])
    async def test_other_roles_are_refused(self, system, role) -> None:
        response = await system.gateway.get("/v1/audit/records", headers=system.token(role))
        assert response.status_code == 403


class TestSearchAndExport:
    async def test_search_by_person_plate_case_and_time(self, system, admin_db) -> None:
        tag = uuid.uuid4().hex[:6].upper()
        plate, case = f"9{tag}", f"SJ-2026-{tag}"
        purpose = {"use": "wanted_suspect", "case_number": case, "reason": "Robbery suspect vehicle"}
        mine = [
            full_event(EventType.SEARCH, actor=marked_actor(tag), query={"plate": plate}, purpose=purpose)
            for _ in range(3)
        ]
        for event in mine:
            await record(system, event)
        auditor = system.token("auditor")
        ids = {e.event_id for e in mine}
        for params in ({"actor_sub": f"officer-{tag}"}, {"plate": plate.lower()}, {"case_number": case}):
            response = await system.gateway.get(
                "/v1/audit/records", params={**params, "event_type": "search"}, headers=auditor
            )
            assert response.status_code == 200, response.text
            assert {r["event_id"] for r in response.json()["records"]} == ids
        since = mine[1].occurred_at.isoformat()
        response = await system.gateway.get(
            "/v1/audit/records", params={"plate": plate, "since": since, "event_type": "search"}, headers=auditor
        )
        assert [r["event_id"] for r in response.json()["records"]] == [e.event_id for e in mine[1:]]
        logged = await audit_accesses(admin_db, "audit_records")
        assert logged[-1]["actor_sub"] == "dev-auditor"
        assert logged[-1]["query"] == {"plate": plate, "since": since.replace("+00:00", "Z"), "event_type": "search"}
        assert sorted(logged[-1]["result_ids"]) == sorted(e.event_id for e in mine[1:])

    async def test_export_streams_csv_and_json_and_is_audited(self, system, admin_db) -> None:
        tag = uuid.uuid4().hex[:6].upper()
        events = [full_event(EventType.READ_VIEW, actor=marked_actor(tag)) for _ in range(4)]
        for event in events:
            await record(system, event)
        auditor = system.token("auditor")
        params = {"actor_sub": f"officer-{tag}", "format": "csv"}
        response = await system.gateway.get("/v1/audit/export", params=params, headers=auditor)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert [r["event_id"] for r in rows] == [e.event_id for e in events]
        # the CSV reads flat: who acted in columns of their own, no JSON in a cell (issue 27)
        flat = (rows[0]["actor_name"], rows[0]["actor_badge"], rows[0]["actor_agency"])
        assert flat == ("Sam Roe", "B77", "CA0430000")
        assert "actor_json" not in rows[0] and not any(cell.startswith("{") for cell in rows[0].values())
        response = await system.gateway.get("/v1/audit/export", params={**params, "format": "json"}, headers=auditor)
        assert [r["event_id"] for r in response.json()] == [e.event_id for e in events]
        # each record of the JSON export carries the exact text its hash was taken over
        first = response.json()[0]
        link = ChainLink(
            int(first["seq"]),
            first["event_id"],
            first["event_type"],
            datetime.fromisoformat(first["occurred_at"]),
            first["actor_json"],
            first["payload_json"],
            first["prev_hash"],
            first["hash"],
        )
        assert link.recomputed_hash() == first["hash"]
        # an export is a record of its own kind (issue #22), not an ordinary auditor access
        logged = await audit_accesses(admin_db, "audit_export", "export")
        assert [entry["query"]["format"] for entry in logged[-2:]] == ["csv", "json"]


class TestProofs:
    async def test_inclusion_and_consistency_proofs_verify_client_side(self, system) -> None:
        auditor = system.token("auditor")
        key = public_key(system)
        first = full_event(EventType.SEARCH)
        await record(system, first)
        response = await system.gateway.get(f"/v1/audit/proofs/inclusion/{first.event_id}", headers=auditor)
        assert response.status_code == 200, response.text
        old = self.check_inclusion(response.json(), key)
        second = full_event(EventType.SEARCH)
        await record(system, second)
        response = await system.gateway.get(f"/v1/audit/proofs/inclusion/{second.event_id}", headers=auditor)
        new = self.check_inclusion(response.json(), key)
        assert new.tree_size > old.tree_size
        response = await system.gateway.get(
            "/v1/audit/proofs/consistency",
            params={"old_size": old.tree_size, "new_size": new.tree_size},
            headers=auditor,
        )
        assert response.status_code == 200, response.text
        proof = [bytes.fromhex(p) for p in response.json()["proof"]]
        old_root, new_root = bytes.fromhex(old.root_hash), bytes.fromhex(new.root_hash)
        assert verify_consistency(old.tree_size, new.tree_size, old_root, new_root, proof)
        assert not verify_consistency(old.tree_size, new.tree_size, old_root, bytes(32), proof)
        checkpoints = await system.gateway.get("/v1/audit/checkpoints", headers=auditor)
        assert public_key_b64(system) in checkpoints.json()["public_keys"]

    @staticmethod
    def check_inclusion(body: dict[str, Any], key: Any) -> Checkpoint:
        """What an auditor's own tool does: rehash the record, walk the path, check the signature."""
        record_ = body["record"]
        link = ChainLink(
            record_["seq"],
            record_["event_id"],
            record_["event_type"],
            datetime.fromisoformat(record_["occurred_at"]),
            record_["actor_json"],
            record_["payload_json"],
            record_["prev_hash"],
            record_["hash"],
        )
        assert link.recomputed_hash() == record_["hash"]
        checkpoint = checkpoint_of(body["checkpoint"])
        assert verify_checkpoint(key, checkpoint)
        proof = [bytes.fromhex(p) for p in body["proof"]]
        leaf = bytes.fromhex(record_["hash"])
        root = bytes.fromhex(checkpoint.root_hash)
        assert body["leaf_index"] == link.seq - 1
        assert verify_inclusion(leaf, body["leaf_index"], checkpoint.tree_size, proof, root)
        assert not verify_inclusion(bytes(32), body["leaf_index"], checkpoint.tree_size, proof, root)
        return checkpoint

    async def test_verify_over_the_api(self, system, admin_db) -> None:
        response = await system.gateway.post("/v1/audit/verify", headers=system.token("auditor"))
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["ok"] is True and body["first_failure"] is None
        assert body["records_checked"] >= 1
        assert (await audit_accesses(admin_db, "audit_verify"))[-1]["actor_sub"] == "dev-auditor"


class TestAuditorAccessFailsClosed:
    async def test_no_record_of_the_auditor_access_means_no_answer(self, system) -> None:
        import dataclasses

        from libs.common.streams import AUDIT

        js = system.runtime("gateway").bus.js
        await js.update_stream(dataclasses.replace(AUDIT, subjects=["alpr.audit.detached.>"]))
        try:
            response = await system.gateway.get("/v1/audit/records", headers=system.token("auditor"))
        finally:
            await js.update_stream(AUDIT)
        assert response.status_code == 503
        assert "records" not in response.json()
        assert response.json()["error"]["code"] == "audit_unavailable"
