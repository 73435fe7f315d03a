"""Session fixtures: real PostgreSQL and NATS from the pip packages on free ports, and the five services."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from services.cli.stack import LocalStack

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ALPR_SHARED_DIR", REPO.parent / "shared"))


def settings_kwargs(env: dict[str, str]) -> dict[str, Any]:
    return {k.removeprefix("ALPR_").lower(): v for k, v in env.items()}


@dataclass
class System:
    """The running system as a test sees it."""

    stack: LocalStack
    apps: dict[str, FastAPI]
    gateway: httpx.AsyncClient
    exits: dict[str, AsyncExitStack]

    def token(self, role: str, **kwargs: Any) -> dict[str, str]:
        from services.cli.seed import dev_sub

        sub = kwargs.pop("sub", dev_sub(role))
        return {"Authorization": f"Bearer {self.stack.issuer.mint(sub, **kwargs)}"}

    @property
    def camera(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.stack.camera_credential}"}

    def runtime(self, service: str) -> Any:
        return self.apps[service].state.runtime

    async def stop_service(self, service: str) -> None:
        await self.exits.pop(service).aclose()

    async def start_service(self, service: str) -> None:
        exit_stack = AsyncExitStack()
        app = self.apps[service]
        await exit_stack.enter_async_context(app.router.lifespan_context(app))
        self.exits[service] = exit_stack


def build_apps(stack: LocalStack, services: tuple[str, ...]) -> dict[str, FastAPI]:
    from services.audit.app import create_app as audit_app
    from services.audit.settings import AuditSettings
    from services.gateway.app import create_app as gateway_app
    from services.gateway.settings import GatewaySettings
    from services.records.app import create_app as records_app
    from services.records.settings import RecordsSettings
    from services.sharing.app import create_app as sharing_app
    from services.sharing.settings import SharingSettings

    factories: dict[str, Any] = {
        "audit": (audit_app, AuditSettings),
        "records": (records_app, RecordsSettings),
        "gateway": (gateway_app, GatewaySettings),
        "sharing": (sharing_app, SharingSettings),
    }
    if "recognizer" in services:
        from services.recognizer.app import create_app as recognizer_app
        from services.recognizer.settings import RecognizerSettings

        factories["recognizer"] = (recognizer_app, RecognizerSettings)
    apps = {}
    for name in services:
        factory, settings_cls = factories[name]
        env = stack.env_for(name, http_port=0)
        env["ALPR_ENVIRONMENT"] = "test"
        if name == "gateway":
            # the dev people serve the whole suite; test_rate_limits lowers the rates it tests
            env.setdefault("ALPR_RATE_PERSON_PER_MINUTE", "1000000")
            env.setdefault("ALPR_RATE_PUBLIC_PER_MINUTE", "1000000")
        apps[name] = factory(settings_cls(**settings_kwargs(env)))
    return apps


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    # not under pytest's tmp root: pytest resets that to 0700, which the postgres system user cannot enter
    folder = Path(tempfile.mkdtemp(prefix="alpr-test-"))
    folder.chmod(0o755)
    local = LocalStack(folder, durable=False)
    local.start_infrastructure()
    try:
        yield local
    finally:
        local.stop_infrastructure()
        shutil.rmtree(folder, ignore_errors=True)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def system(stack: LocalStack) -> AsyncIterator[System]:
    await stack.prepare()
    services: tuple[str, ...] = ("audit", "records", "recognizer", "sharing", "gateway")
    if os.environ.get("ALPR_TEST_WITHOUT_RECOGNIZER"):
        services = tuple(s for s in services if s != "recognizer")
    apps = build_apps(stack, services)
    sys_ = System(stack, apps, httpx.AsyncClient(), {})
    for name in services:
        await sys_.start_service(name)
    transport = httpx.ASGITransport(app=apps["gateway"], client=("203.0.113.7", 50000))
    sys_.gateway = httpx.AsyncClient(transport=transport, base_url="http://gateway")
    try:
        yield sys_
    finally:
        await sys_.gateway.aclose()
        for name in reversed(list(sys_.exits)):
            await sys_.stop_service(name)
