"""Training as the policy names it (D2): five topics, each current, or no access. No I/O.

The policy's "Training shall consist of" lists legal authorities, the department's policy, the technology
and its risks, data security, and practical exercises. A training record lists the topics it covered; a
person is trained until the earliest, over the five, of the latest expiry of a record covering that topic.
That instant is kept on the person (`training_expires_at`), which every access check reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class TrainingTopic(StrEnum):
    LEGAL_AUTHORITY = "legal_authority"  # legal authorities, developments and issues
    POLICY = "policy"  # current department policy on appropriate use
    TECHNOLOGY = "technology"  # the technology, new capabilities and their risks
    DATA_SECURITY = "data_security"  # measures protecting ALPR data from unauthorized access or use
    PRACTICAL_USE = "practical_use"  # practical exercises in the use of ALPR


class CoursePassed(Protocol):
    """A training record as far as currency goes."""

    @property
    def topics(self) -> list[str]: ...

    @property
    def expires_at(self) -> datetime: ...


def topic_expiries(records: Iterable[CoursePassed]) -> dict[TrainingTopic, datetime | None]:
    """For each topic, the latest expiry of a record covering it (None: never covered)."""
    latest: dict[TrainingTopic, datetime | None] = dict.fromkeys(TrainingTopic)
    for record in records:
        for topic in record.topics:
            known = latest.get(TrainingTopic(topic))
            latest[TrainingTopic(topic)] = record.expires_at if known is None else max(known, record.expires_at)
    return latest


def trained_until(records: Iterable[CoursePassed]) -> datetime | None:
    """Until when every topic is current; None when some topic was never covered."""
    expiries = topic_expiries(records).values()
    if any(expiry is None for expiry in expiries):
        return None
    return min(expiry for expiry in expiries if expiry is not None)


def lapsed_topics(records: Iterable[CoursePassed], now: datetime) -> list[TrainingTopic]:
    """The topics not current now: never covered, or covered only by expired records."""
    return [topic for topic, expiry in topic_expiries(records).items() if expiry is None or expiry <= now]
