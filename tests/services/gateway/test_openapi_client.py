"""A client generated from the gateway's served OpenAPI (openapi-python-client) posts a read as a camera and
finds it in an officer's search (issue 27, item 5): the schema is complete enough to integrate from.

The client is generated at test time into a temporary folder from /openapi.json as the gateway serves it,
then imported and called against the session's gateway; a few seconds in all.
"""

from __future__ import annotations

import asyncio
import importlib
import shutil
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from tests.services.gateway.test_first_path import PURPOSE, unique_plate, wait_stored

pytestmark = pytest.mark.asyncio(loop_scope="session")
GENERATOR = Path(sys.executable).with_name("openapi-python-client")


async def generate(spec: bytes, folder: Path) -> str:
    """Generate the client package into `folder`; its import name."""
    name = f"alpr_gateway_client_{uuid.uuid4().hex[:8]}"
    (folder / "openapi.json").write_bytes(spec)
    (folder / "config.yaml").write_text("post_hooks: []\n")  # no formatter run: nothing reads its style
    process = await asyncio.create_subprocess_exec(
        str(GENERATOR),
        "generate",
        "--path",
        str(folder / "openapi.json"),
        "--output-path",
        str(folder / name),
        "--meta",
        "none",
        "--config",
        str(folder / "config.yaml"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, output.decode()[-2000:]
    return name


def module(package: str, path: str) -> ModuleType:
    return importlib.import_module(f"{package}.{path}")


async def test_a_generated_client_posts_a_read_and_finds_it(system, tmp_path: Path) -> None:
    assert shutil.which(str(GENERATOR)), "openapi-python-client is in the test extra"
    served = await system.gateway.get("/openapi.json")
    package = await generate(served.content, tmp_path)
    sys.path.insert(0, str(tmp_path))
    try:
        client = module(package, "client")
        post_reads = module(package, "api.reads.reads_post_reads")
        search = module(package, "api.searches.searches_search")
        native_read = module(package, "models.reads_post_reads_native_read")
        search_body = module(package, "models.search_body")
    finally:
        sys.path.remove(str(tmp_path))

    def authenticated(token: str):  # type: ignore[no-untyped-def]
        transport = httpx.ASGITransport(app=system.apps["gateway"], client=("203.0.113.7", 50000))
        return client.AuthenticatedClient(base_url="http://gateway", token=token, httpx_args={"transport": transport})

    camera = authenticated(system.stack.camera_credential)
    officer = authenticated(system.token("officer")["Authorization"].removeprefix("Bearer "))
    plate, now = unique_plate(), datetime.now(UTC)
    read = native_read.ReadsPostReadsNativeRead.from_dict(
        {"plate": plate, "captured_at": now.isoformat(), "latitude": 37.33, "longitude": -121.88, "confidence": 0.9}
    )
    posted = await post_reads.asyncio_detailed(client=camera, body=read)
    assert posted.status_code == 202, posted.content
    [read_id] = posted.parsed.read_ids
    assert await wait_stored(system, read_id) == 1

    window = {"since": (now - timedelta(hours=1)).isoformat(), "until": (now + timedelta(hours=1)).isoformat()}
    body = search_body.SearchBody.from_dict({"query": {"plate": plate, **window}, "purpose": PURPOSE})
    found = await search.asyncio_detailed(client=officer, body=body)
    assert found.status_code == 200, found.content
    assert [r.read_id for r in found.parsed.reads] == [read_id]
    assert found.parsed.reads[0].plate == plate

    refused = await search.asyncio_detailed(client=authenticated("not.a.token"), body=body)
    assert refused.status_code == 401 and refused.parsed.error.code == "unauthenticated"
