"""Schemathesis fuzzes every operation of the gateway's OpenAPI: no 5xx, and every answer matches its schema.

Budget: about 3 minutes on two slow cores, start-up included. Measured here, with other work on the same two
cores: 14 s start-up, then 71 s of fuzzing at 40 generated requests per operation and 145 s at 80 (the audit
routes grow slower as every fuzzed request adds to the log); at 60, 149 s in all (136 s fuzzing).
Each operation gets schemathesis's examples phase (the documented examples, vendor samples among them), its
coverage phase (boundaries and wrong types) and FUZZ_EXAMPLES generated requests; the stateful phase is off;
the seed is fixed, so a run repeats. Generated strings carry NUL and any Unicode code point.
The system under test is a stack of its own (the fuzzer deactivates people, disables cameras and revokes
agreements, which the session's other tests rely on), without the recognizer; its gateway is served by uvicorn
on a free port in the test's event loop, and schemathesis sends real HTTP from a thread, each operation with
the credential of a role allowed to call it.
ALPR_FUZZ_REPORT=<file> writes every failure with its request, the statuses each operation answered and the
server's tracebacks; ALPR_FUZZ_ONLY=<pattern of "METHOD /path"> fuzzes only the operations it matches.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import os
import re
import shutil
import tempfile
import time
import traceback
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import requests
import uvicorn
from requests.adapters import HTTPAdapter

from services.cli.embedded import free_port
from services.cli.stack import LocalStack
from tests.conftest import SHARED, System, build_apps

pytestmark = [
    pytest.mark.asyncio(loop_scope="session"),
    # raised inside schemathesis's own strategies, not ours
    pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning"),
]

FUZZ_EXAMPLES = 60
SERVICES = ("audit", "records", "sharing", "gateway")
# (operation prefix, role): the first that matches names the credential; the rest run as an officer
ROLE_BY_PREFIX = (
    ("POST /v1/admin/agreement-proposals/", "custodian"),
    ("POST /v1/admin/persons/{sub}/activation", "supervisor"),
    ("POST /v1/approvals/{approval_id}/decision", "supervisor"),
    ("POST /v1/holds/{hold_id}/decision", "supervisor"),
    ("GET /v1/admin/deletion-certificates", "custodian"),
    ("GET /v1/admin/share-ledger", "custodian"),
    ("POST /v1/admin/purges", "custodian"),
    ("GET /v1/admin/", "admin"),
    ("POST /v1/admin/", "admin"),
    ("PUT /v1/admin/", "admin"),
    ("POST /v1/hotlists", "admin"),
    ("DELETE /v1/hotlists", "admin"),
    ("GET /v1/audit/", "auditor"),
    ("POST /v1/audit/", "auditor"),
    ("GET /partner/", "partner"),
    ("POST /partner/", "partner"),
    ("PUT /partner/", "partner"),
)
# fixed values where a generated one would only make the request wait: an alert stream open for a day
FIXED_PARAMETERS = {"GET /v1/alerts/stream": {"query.max_seconds": 0.05, "query.max_events": 1}}
# The alert stream stays open as long as the token when a case leaves max_seconds out (the coverage phase does):
# its answer is read as a client reads a stream (FirstEventsAdapter), its headers within the 10 s every
# operation gets, then its events until a second passes without one. Its generated phase is off: hypothesis
# hill-climbs towards answers the operation accepts, which for a stream are the longest ones, and that alone
# took over ten minutes; the examples and coverage phases still send it boundaries, wrong types, NUL and huge
# `Last-Event-ID` values.
OPERATION_LIMITS = {"GET /v1/alerts/stream": {"phases": {"fuzzing": {"enabled": False}}}}
# An event stream is cut after this long without a byte (its keep-alives come every 15 s). Not the headers'
# timeout: a loaded machine took over a second to open the stream (the token checked, the person looked up,
# a consumer made on the bus), and one second for the whole answer made it an operation "not fuzzed".
STREAM_SILENCE_S = 1.0


class FirstEventsAdapter(HTTPAdapter):
    """Waits for an event stream's headers as for any answer, then reads its body with a short idle timeout."""

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        response = super().send(request, *args, **kwargs)
        if kwargs.get("stream") and "text/event-stream" in response.headers.get("content-type", ""):
            # schemathesis reads a stream (stream=True) until it ends, its deadline passes or a read times out
            sock = getattr(getattr(response.raw, "connection", None), "sock", None)
            if sock is not None:
                sock.settimeout(STREAM_SILENCE_S)
        return response


def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Schemathesis hook: the engine's session reads event streams through FirstEventsAdapter."""
    session = kwargs.get("session")
    if isinstance(session, requests.Session) and not isinstance(session.get_adapter("http://"), FirstEventsAdapter):
        session.mount("http://", FirstEventsAdapter())


CAMERA_POSTS = (
    "POST /v1/reads",
    "POST /v1/ingest",
    "POST /v1/ingest/{fmt}",
    "POST /v1/ingest/image",
    "GET /v1/ingest/image/{frame_id}",
)


def role_for(name: str) -> str | None:
    """The role a fuzzed request of this operation ("METHOD /path") is sent as; None: no credential."""
    if name in CAMERA_POSTS:
        return "camera"
    if name.split(" ", 1)[1].startswith(("/oauth/", "/public/", "/.well-known/")):
        return None
    return next((role for prefix, role in ROLE_BY_PREFIX if name.startswith(prefix)), "officer")


def started_stack() -> LocalStack:
    # not under pytest's tmp root, which the postgres system user cannot enter (as in conftest)
    folder = Path(tempfile.mkdtemp(prefix="alpr-fuzz-"))
    folder.chmod(0o755)
    stack = LocalStack(folder, durable=False)
    stack.start_infrastructure()
    return stack


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def fuzzed() -> AsyncIterator[System]:
    """A system of its own, as the session's `system` fixture builds it."""
    stack = await asyncio.to_thread(started_stack)
    folder = stack.data_dir
    sys_ = System(stack, {}, httpx.AsyncClient(), {})
    try:
        await stack.prepare()
        sys_.apps = build_apps(stack, SERVICES)
        for name in SERVICES:
            await sys_.start_service(name)
        transport = httpx.ASGITransport(app=sys_.apps["gateway"], client=("203.0.113.8", 50000))
        sys_.gateway = httpx.AsyncClient(transport=transport, base_url="http://gateway")
        yield sys_
    finally:
        await sys_.gateway.aclose()
        for name in reversed(list(sys_.exits)):
            await sys_.stop_service(name)
        await asyncio.to_thread(stack.stop_infrastructure)
        shutil.rmtree(folder, ignore_errors=True)


@asynccontextmanager
async def served(app: Any) -> AsyncIterator[str]:
    """The running gateway app on a free port of this loop; its lifespan already ran in the fixture."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="critical"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


class Tracebacks(logging.Handler):
    """Exceptions the services logged while the fuzzer ran, counted by type, message and innermost frame."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        if not record.exc_info or record.exc_info[1] is None:
            return
        exc = record.exc_info[1]
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/.venv/" not in f.filename]
        where = f"{frames[-1].filename.rsplit('/main/', 1)[-1]}:{frames[-1].lineno}" if frames else "?"
        key = f"{type(exc).__name__}: {str(exc)[:200]} at {where}"
        self.seen[key] = self.seen.get(key, 0) + 1


async def existing_objects(system: System, headers: dict[str, dict[str, str]]) -> dict[str, dict[str, Any]]:
    """Path ids of objects made for the fuzzer, so its requests reach past the 404 into the rules behind it.

    Its own person and camera, never the development ones every other request of the run is sent as.
    """
    since, until = datetime.now(UTC) - timedelta(days=2), datetime.now(UTC)
    purpose = {
        "use": "stolen_or_wanted_vehicle",
        "case_number": "SJ-2026-004211",
        "reason": "Vehicle reported stolen at knifepoint on Story Road",
    }
    query = {"plate": "8AB*", "match": "partial", "since": since.isoformat(), "until": until.isoformat()}
    hold = {
        "plate": "8ABC123",
        "case_number": "SJ-2026-004211",
        "use": "wanted_suspect",
        "justification": "Vehicle seen leaving two armed robberies",
        "since": since.isoformat(),
        "until": until.isoformat(),
        "review_date": (until + timedelta(days=60)).date().isoformat(),
    }
    person = {"sub": "fuzzed", "name": "Fuzz Target", "badge": "9999", "roles": ["officer"], "user_class": "sworn"}
    made = {
        "hotlist_id": ("admin", "/v1/hotlists", {"name": "fuzzed", "source": "manual"}),
        "approval_id": (
            "officer",
            "/v1/approvals",
            {"query": query, "purpose": purpose, "justification": "A witness recalled three characters"},
        ),
        "hold_id": ("officer", "/v1/holds", hold),
        "sub": ("admin", "/v1/admin/persons", person),
        "camera_id": (
            "admin",
            "/v1/admin/cameras",
            {"camera_id": "fuzzed-cam", "name": "Fuzzed", "vendor": "openalpr"},
        ),
        "sample_id": (
            "auditor",
            "/v1/audit/samples",
            {"period_start": since.isoformat(), "period_end": until.isoformat()},
        ),
    }
    ids: dict[str, str] = {}
    for name, (role, path, body) in made.items():
        answer = await system.gateway.post(path, json=body, headers=headers[role])
        assert answer.status_code == 201, f"{path}: {answer.text}"
        ids[name] = str(answer.json().get(name) or body.get(name))
    ids["read_id"], search_id = await stored_read(
        system, headers, {"query": {**query, "match": "exact"}, "purpose": purpose}
    )
    spec = system.apps["gateway"].openapi()
    fixed = {
        f"{method.upper()} {path}": {f"path.{n}": ids[n] for n in ids if "{" + n + "}" in path}
        for path, operations in spec["paths"].items()
        for method in operations
        if any("{" + n + "}" in path for n in ids)
    }
    for name in ("GET /v1/reads/{read_id}", "GET /v1/reads/{read_id}/image"):
        fixed[name]["query.search_id"] = search_id
    return fixed


async def stored_read(system: System, headers: dict[str, dict[str, str]], search: dict[str, Any]) -> tuple[str, str]:
    """(read id, search id) of a read posted by the camera, once records has stored it."""
    plate = "8ABC123"
    read = {"plate": plate, "captured_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(), "confidence": 0.9}
    posted = await system.gateway.post("/v1/reads", json=read, headers=headers["camera"])
    assert posted.status_code == 202, posted.text
    search["query"]["plate"] = plate
    for _ in range(100):
        found = await system.gateway.post("/v1/searches", json=search, headers=headers["officer"])
        assert found.status_code == 200, found.text
        if found.json()["reads"]:
            return str(found.json()["reads"][0]["read_id"]), str(found.json()["search_id"])
        await asyncio.sleep(0.1)
    raise AssertionError("the camera's read was not stored within 10 s")


async def partner_token(system: System) -> str:
    secret = (system.stack.data_dir / "dev-partner.secret").read_text().strip()
    form = {"grant_type": "client_credentials"}
    response = await system.gateway.post("/oauth/token", data=form, auth=("dev-partner", secret))
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def with_vendor_samples(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec with every vendor sample of ../shared as an example body of the vendor routes (test time only:
    the shipped spec carries short examples of its own and reads no file)."""
    samples = sorted((SHARED / "samples" / "vendors").glob("*.*"))
    for path in ("/v1/ingest", "/v1/ingest/{fmt}"):
        content = spec["paths"][path]["post"]["requestBody"]["content"]
        for sample in samples:
            media = "application/json" if sample.suffix == ".json" else "application/xml"
            text = sample.read_text(encoding="utf-8-sig")
            value = json.loads(text) if media == "application/json" else text
            content[media]["examples"][sample.stem] = {"value": value}
    return spec


def fuzz(
    spec: dict[str, Any], base_url: str, headers: dict[str, dict[str, str]], fixed: dict[str, dict[str, Any]]
) -> tuple[list[str], list[str]]:
    """Run schemathesis over every operation: (one line per distinct failure, time spent by the slowest)."""
    import schemathesis
    from schemathesis.engine import Status, events, from_schema

    only = re.compile(os.environ.get("ALPR_FUZZ_ONLY", ""))  # to repeat one finding: a pattern of "METHOD /path"
    spec["paths"] = {
        p: kept
        for p, ops in spec["paths"].items()
        if (kept := {m: o for m, o in ops.items() if only.search(f"{m.upper()} {p}")})
    }
    names = [f"{m.upper()} {p}" for p, ops in spec["paths"].items() for m in ops]
    operations = [
        {
            "include-name": name,
            "headers": headers[role] if role else {},
            "parameters": fixed.get(name, {}),
            **OPERATION_LIMITS.get(name, {}),
        }
        for name in names
        if (role := role_for(name)) or name in fixed
    ]
    config = schemathesis.Config.from_dict(
        {
            "base-url": base_url,
            "seed": 21,
            "workers": 1,
            "continue-on-failure": True,
            # a hung answer is a finding and ends after 10 s (no `max-time`: with one, schemathesis fuzzes until it)
            "request-timeout": 10,
            "generation": {"max-examples": FUZZ_EXAMPLES, "allow-x00": True, "database": "none", "no-shrink": True},
            "phases": {"stateful": {"enabled": False}},
            "checks": {
                "enabled": False,
                "not_a_server_error": {"enabled": True},
                "response_schema_conformance": {"enabled": True},
            },
            "operations": operations,
        }
    )
    # any code point hypothesis draws (the UTF-8 codec is the default; None drops even that filter)
    config.projects.get_default().generation.codec = None
    schema = schemathesis.openapi.from_dict(spec, config=config)
    found: dict[str, str] = {}
    spent: dict[str, float] = {}
    tested: set[str] = set()
    answered: dict[str, set[int]] = {}
    schemathesis.hook(before_call)  # global in schemathesis: taken off again below
    try:
        executed = list(from_schema(schema).execute())
    finally:
        schemathesis.hooks.unregister(before_call)
    for event in executed:
        if isinstance(event, events.FatalError):
            raise event.exception
        if isinstance(event, events.NonFatalError):
            # an operation the fuzzer could not test (a schema it cannot generate from) is a failure too
            found.setdefault(f"{event.label} error", f"{event.label} could not be fuzzed: {event.value!r}"[:600])
        if not isinstance(event, events.ScenarioFinished):
            continue
        label = event.recorder.label
        if event.status != Status.SKIP:
            tested.add(label)
        for interaction in event.recorder.interactions.values():
            if interaction.response is not None:
                answered.setdefault(label, set()).add(interaction.response.status_code)
        spent[f"{event.phase.value} {label}"] = spent.get(f"{event.phase.value} {label}", 0.0) + event.elapsed_time
        for case_id, checks in event.recorder.checks.items():
            for check in checks:
                if check.failure_info is None:
                    continue
                failure = check.failure_info.failure
                interaction = event.recorder.interactions.get(case_id)
                answer = interaction.response if interaction else None
                got = f"{answer.status_code} {answer.content[:300]!r}" if answer else "no response"
                key = f"{label} {failure.title} {answer.status_code if answer else ''}"
                found.setdefault(key, f"{key}\n  got: {got}\n  {check.failure_info.code_sample[:1500]}")
    for name in sorted(set(names) - tested):
        found[f"{name} untested"] = f"{name} was not fuzzed"
    slowest = sorted(spent.items(), key=lambda kv: -kv[1])[:10]
    statuses = [f"  {name}: {sorted(answered.get(name, ()))}" for name in names]
    timing = [f"{len(tested)} operations fuzzed; slowest:", *(f"{t:6.1f} s {k}" for k, t in slowest)]
    return list(found.values()), [*timing, "statuses answered:", *statuses]


async def test_no_operation_answers_5xx_or_breaks_its_response_schema(fuzzed: System) -> None:
    started = time.monotonic()
    app = fuzzed.apps["gateway"]
    roles = ("officer", "analyst", "supervisor", "admin", "auditor", "custodian")
    headers = {role: fuzzed.token(role) for role in roles}
    headers["camera"] = fuzzed.camera
    headers["partner"] = {"Authorization": f"Bearer {await partner_token(fuzzed)}"}
    fixed = {**FIXED_PARAMETERS, **await existing_objects(fuzzed, headers)}
    tracebacks = Tracebacks()
    logging.getLogger().addHandler(tracebacks)
    try:
        async with served(app) as base_url:
            spec = with_vendor_samples(copy.deepcopy(app.openapi()))
            failures, slowest = await asyncio.to_thread(fuzz, spec, base_url, headers, fixed)
    finally:
        logging.getLogger().removeHandler(tracebacks)
    report = [
        f"fuzzed in {time.monotonic() - started:.0f} s (the stack's start-up not counted)",
        *slowest,
        f"{len(failures)} failures:",
        *failures,
        "server tracebacks:",
        *(f"{n:4d} x {key}" for key, n in sorted(tracebacks.seen.items(), key=lambda kv: -kv[1])),
    ]
    if os.environ.get("ALPR_FUZZ_REPORT"):
        await asyncio.to_thread(Path(os.environ["ALPR_FUZZ_REPORT"]).write_text, "\n".join(report) + "\n")
    assert not failures, "\n".join(report)
