"""Training covers what the policy names (D2; issue #22 item 8): every topic current, or no access."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from services.gateway.policy.training import TrainingTopic, lapsed_topics, trained_until
from tests.utils.registry_people import bearer, new_sub, put_person

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
ALL = [t.value for t in TrainingTopic]


@dataclass
class Course:
    topics: list[str]
    expires_at: datetime


class TestTrainedUntil:
    def test_one_course_covering_every_topic_counts_until_it_expires(self) -> None:
        assert trained_until([Course(ALL, NOW + timedelta(days=365))]) == NOW + timedelta(days=365)

    def test_a_topic_never_covered_means_untrained(self) -> None:
        assert trained_until([Course(ALL[:-1], NOW + timedelta(days=365))]) is None
        assert lapsed_topics([Course(ALL[:-1], NOW + timedelta(days=365))], NOW) == [TrainingTopic.PRACTICAL_USE]

    def test_the_earliest_topic_decides_and_a_refresher_moves_only_its_topics(self) -> None:
        courses = [
            Course(ALL, NOW + timedelta(days=10)),
            Course(["legal_authority", "policy", "technology", "data_security"], NOW + timedelta(days=365)),
        ]
        assert trained_until(courses) == NOW + timedelta(days=10)
        assert lapsed_topics(courses, NOW + timedelta(days=11)) == [TrainingTopic.PRACTICAL_USE]

    def test_no_records_is_untrained(self) -> None:
        assert trained_until([]) is None


session_loop = pytest.mark.asyncio(loop_scope="session")


def course(topics: list[str], *, expires_in_days: int) -> dict[str, object]:
    now = datetime.now(UTC)
    return {
        "course": "ALPR use and privacy (Policy 4207)",
        "topics": topics,
        "completed_at": (now - timedelta(days=400)).isoformat(),
        "expires_at": (now + timedelta(days=expires_in_days)).isoformat(),
    }


async def record(system, sub: str, body: dict[str, object]):  # type: ignore[no-untyped-def]
    response = await system.gateway.post(f"/v1/admin/persons/{sub}/training", json=body, headers=system.token("admin"))
    assert response.status_code == 201, response.text
    return response.json()


@session_loop
class TestAccessNeedsEveryTopic:
    async def test_a_person_missing_one_topic_is_refused_and_all_current_is_allowed(self, system) -> None:
        sub = await put_person(system, new_sub("topics"), ["officer"], state="untrained")
        view = await record(system, sub, course(ALL[:-1], expires_in_days=365))
        assert view["training_expires_at"] is None and view["training_topics"]["practical_use"] is None
        refused = await system.gateway.get("/v1/approvals", headers=bearer(system, sub))
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "training_expired"

        view = await record(system, sub, course(["practical_use"], expires_in_days=200))
        assert view["status"] == "active" and view["training_topics"]["practical_use"] is not None
        assert (await system.gateway.get("/v1/approvals", headers=bearer(system, sub))).status_code == 200

    async def test_a_person_with_one_topic_expired_is_refused(self, system) -> None:
        sub = await put_person(system, new_sub("topics"), ["officer"])
        await record(system, sub, course(ALL[1:], expires_in_days=365))
        view = await record(system, sub, course(["legal_authority"], expires_in_days=-1))
        assert view["training_expires_at"] is not None
        assert datetime.fromisoformat(view["training_expires_at"]) < datetime.now(UTC)
        refused = await system.gateway.get("/v1/approvals", headers=bearer(system, sub))
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "training_expired"

    @pytest.mark.parametrize("topics", [[], ["first_aid"], ["policy", "Policy"]])
    async def test_a_record_without_the_policys_topics_is_refused(self, system, topics: list[str]) -> None:
        sub = await put_person(system, new_sub("topics"), ["officer"])
        response = await system.gateway.post(
            f"/v1/admin/persons/{sub}/training",
            json=course(topics, expires_in_days=365),
            headers=system.token("admin"),
        )
        assert response.status_code == 422, response.text

    async def test_the_seeded_and_registry_people_have_every_topic_current(self, system) -> None:
        registry = await put_person(system, new_sub("topics"), ["officer"])
        tokens = [system.token(role) for role in ("officer", "analyst", "supervisor")] + [bearer(system, registry)]
        for headers in tokens:
            response = await system.gateway.get("/v1/approvals", headers=headers)
            assert response.status_code == 200, response.text
        seeded = await system.gateway.get("/v1/admin/persons/dev-officer", headers=system.token("admin"))
        assert seeded.status_code == 200, seeded.text
        topics = seeded.json()["training_topics"]
        assert sorted(topics) == sorted(ALL) and all(topics.values())
