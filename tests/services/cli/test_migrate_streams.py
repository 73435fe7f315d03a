"""`alpr migrate`'s JetStream part: the deployment's replicas and store size are required, and AUDIT is created
but never changed; how it differs from its declaration is printed, and a less safe AUDIT fails the run."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
from nats.js.api import DiscardPolicy, StorageType, StreamConfig

from libs.common.migrations import audit_differences
from libs.common.streams import AUDIT, DAY_S
from services.cli.embedded import EmbeddedNats
from services.cli.stack import LocalStack

STREAM_SETTINGS = {"ALPR_NATS_STREAM_REPLICAS": "1", "ALPR_NATS_FILE_STORE_BYTES": str(3 * 10**9)}


@pytest.fixture
def bus(tmp_path: Path) -> Iterator[str]:
    """A fresh NATS server, its store the disk, with no stream yet."""
    server = EmbeddedNats(tmp_path / "nats" / "store")
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


def alpr_migrate(
    stack: LocalStack, bus: str, tmp_path: Path, *flags: str, **settings: str
) -> subprocess.CompletedProcess[str]:
    """`alpr migrate` against the tests' PostgreSQL and `bus`, with exactly the stream `settings` given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALPR_")}
    env.update(
        ALPR_DATA_DIR=str(tmp_path / "no-local-stack"),
        ALPR_ADMIN_DATABASE_URL=stack.pg.admin_dsn,
        ALPR_NATS_URL=bus,
        **settings,
    )
    command = [sys.executable, "-m", "services.cli.main", "migrate", *flags]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


async def _streams(url: str) -> dict[str, StreamConfig]:
    nc = await nats.connect(url)
    try:
        return {info.config.name or "": info.config for info in await nc.jetstream().streams_info()}
    finally:
        await nc.close()


async def _set_audit(url: str, **changes: object) -> None:
    """What someone (not `alpr migrate`) did to AUDIT: this test server has no permissions to stop it."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        await js.update_stream(dataclasses.replace((await js.stream_info("AUDIT")).config, **changes))
    finally:
        await nc.close()


class TestStreamSettingsAreRequired:
    @pytest.mark.parametrize(
        "settings",
        [
            {},
            {"ALPR_NATS_STREAM_REPLICAS": "3"},
            {"ALPR_NATS_FILE_STORE_BYTES": str(18 * 10**9)},
        ],
    )
    def test_without_them_nothing_is_changed(self, stack, bus, tmp_path, settings: dict[str, str]) -> None:
        done = alpr_migrate(stack, bus, tmp_path, **settings)
        assert done.returncode == 2, done.stdout + done.stderr
        missing = [name for name in STREAM_SETTINGS if name not in settings]
        assert done.stderr.startswith(f"alpr migrate: set {' and '.join(missing)}") and done.stderr.count("\n") == 1
        assert asyncio.run(_streams(bus)) == {}

    @pytest.mark.parametrize(
        "settings",
        [
            {"ALPR_NATS_STREAM_REPLICAS": "three", "ALPR_NATS_FILE_STORE_BYTES": "1"},
            {"ALPR_NATS_STREAM_REPLICAS": "0", "ALPR_NATS_FILE_STORE_BYTES": "1"},
            {"ALPR_NATS_STREAM_REPLICAS": "1", "ALPR_NATS_FILE_STORE_BYTES": "-1"},
        ],
    )
    def test_a_value_out_of_bounds_is_refused(self, stack, bus, tmp_path, settings: dict[str, str]) -> None:
        done = alpr_migrate(stack, bus, tmp_path, **settings)
        assert done.returncode == 2 and asyncio.run(_streams(bus)) == {}, done.stderr

    def test_the_development_flag_gives_one_replica_and_no_caps(self, stack, bus, tmp_path) -> None:
        done = alpr_migrate(stack, bus, tmp_path, "--development")
        assert done.returncode == 0, done.stderr
        streams = asyncio.run(_streams(bus))
        assert {config.num_replicas for config in streams.values()} == {1}
        assert streams["READS"].max_bytes in (None, -1)

    def test_the_development_flag_is_refused_in_production(self, stack, bus, tmp_path) -> None:
        done = alpr_migrate(stack, bus, tmp_path, "--development", ALPR_ENVIRONMENT="production")
        assert done.returncode == 2 and "refused in production" in done.stderr
        assert asyncio.run(_streams(bus)) == {}

    def test_the_deployments_settings_cap_the_streams(self, stack, bus, tmp_path) -> None:
        done = alpr_migrate(stack, bus, tmp_path, **STREAM_SETTINGS)
        assert done.returncode == 0, done.stderr
        assert "applied stream AUDIT" in done.stdout
        assert asyncio.run(_streams(bus))["READS"].max_bytes == 10**9


class TestAuditStreamIsNeverChanged:
    def test_a_less_safe_audit_is_kept_reported_and_fails_the_run(self, stack, bus, tmp_path) -> None:
        assert alpr_migrate(stack, bus, tmp_path, **STREAM_SETTINGS).returncode == 0
        asyncio.run(_set_audit(bus, max_age=7 * DAY_S))

        done = alpr_migrate(stack, bus, tmp_path, **STREAM_SETTINGS)

        assert done.returncode == 1, done.stdout + done.stderr
        assert "max_age: 7 d in NATS, 30 d declared (LESS SAFE)" in done.stdout
        assert "'Changing the AUDIT stream'" in done.stdout and "less safe than declared (max_age)" in done.stderr
        assert "applied consumer AUDIT/audit-writer" in done.stdout  # the rest of the run went on
        assert asyncio.run(_streams(bus))["AUDIT"].max_age == 7 * DAY_S

    def test_a_safer_audit_is_kept_and_reported(self, stack, bus, tmp_path) -> None:
        assert alpr_migrate(stack, bus, tmp_path, **STREAM_SETTINGS).returncode == 0
        asyncio.run(_set_audit(bus, max_age=60 * DAY_S))

        done = alpr_migrate(stack, bus, tmp_path, **STREAM_SETTINGS)

        assert done.returncode == 0, done.stderr
        assert "max_age: 60 d in NATS, 30 d declared (at least as safe)" in done.stdout
        assert asyncio.run(_streams(bus))["AUDIT"].max_age == 60 * DAY_S


def _as_read(config: StreamConfig, **changes: object) -> StreamConfig:
    """The declaration as the server reports it back (unset limits -1), with `changes`."""
    unset = {"max_msgs": -1, "max_bytes": -1, "max_msgs_per_subject": -1, "max_msg_size": -1}
    return dataclasses.replace(config, **{**unset, **changes})


class TestAuditDifferences:
    declared = dataclasses.replace(AUDIT, num_replicas=3)

    def test_as_declared_is_no_difference(self) -> None:
        assert audit_differences(_as_read(self.declared), self.declared) == []

    @pytest.mark.parametrize(
        "changes",
        [
            {"discard": DiscardPolicy.OLD},
            {"max_msgs": 1},
            {"max_bytes": 10**6},
            {"max_msgs_per_subject": 10},
            {"max_age": 29 * DAY_S},
            {"num_replicas": 1},
            {"storage": StorageType.MEMORY},
            {"retention": "interest"},
            {"subjects": ["alpr.audit.event.search"]},
            {"allow_rollup_hdrs": True},
        ],
    )
    def test_whatever_could_lose_audit_records_is_less_safe(self, changes: dict[str, object]) -> None:
        [difference] = audit_differences(_as_read(self.declared, **changes), self.declared)
        assert difference.less_safe and difference.setting == next(iter(changes))

    @pytest.mark.parametrize(
        "changes",
        [
            {"max_age": 0.0},  # kept for ever
            {"max_age": 90 * DAY_S},
            {"num_replicas": 5},
            {"subjects": ["alpr.audit.event.>", "alpr.audit.extra.>"]},
            {"duplicate_window": 60.0},
        ],
    )
    def test_what_keeps_as_much_is_reported_but_not_less_safe(self, changes: dict[str, object]) -> None:
        [difference] = audit_differences(_as_read(self.declared, **changes), self.declared)
        assert not difference.less_safe and difference.setting == next(iter(changes))
