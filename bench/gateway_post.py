"""The gateway's CPU per single-read camera post, in process: its ASGI app driven directly (no HTTP server,
no bench client in the figure), on the loop uvicorn uses (uvloop), against real PostgreSQL and NATS.

Prints the gateway process's CPU µs a post for each round. `--calls` counts the Python and builtin calls a
post makes (a figure the machine's load does not move) and the most frequent; `--ablate` takes out one stage
at a time (parse, credential and limit, the READS publish, request telemetry), rounds interleaved, to say
what each costs in place. The camera's rate is raised so that no post waits on its limit.

Usage: python bench/gateway_post.py [--posts 3000] [--rounds 3] [--concurrency 64] [--calls | --ablate]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from services.cli.stack import LocalStack


def body_of(i: int, tag: str) -> bytes:
    """A native single read as bench/ingest.py posts it."""
    now = datetime.now(UTC).isoformat()
    read = {"plate": f"{tag}{i:07d}", "captured_at": now, "read_id": f"{tag}-{i}", "confidence": 0.9}
    return json.dumps({**read, "latitude": 37.3, "longitude": -121.9}).encode()


async def post(app: Any, body: bytes, credential: str) -> int:
    """One POST /v1/reads through the ASGI app, as uvicorn would call it; the status answered."""
    scope = {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
        "server": ("127.0.0.1", 8080), "client": ("127.0.0.1", 50000), "scheme": "http", "method": "POST",
        "root_path": "", "path": "/v1/reads", "raw_path": b"/v1/reads", "query_string": b"", "state": {},
        "headers": [
            (b"host", b"127.0.0.1:8080"), (b"content-type", b"application/json"),
            (b"authorization", f"Bearer {credential}".encode()), (b"content-length", str(len(body)).encode()),
        ],
    }  # fmt: skip
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    status = 0

    async def receive() -> dict[str, Any]:
        return messages.pop() if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


class Driver:
    """Posts single reads through the app from `concurrency` tasks, as the bench's camera connections do."""

    def __init__(self, app: Any, credential: str, concurrency: int) -> None:
        self.app, self.credential, self.concurrency = app, credential, concurrency
        self.tag, self.sent = uuid.uuid4().hex[:3].upper(), 0

    async def run(self, count: int) -> float:
        """Post `count` reads; the process's CPU µs a post (the bodies are made before the clock starts)."""
        queue = [body_of(self.sent + i, self.tag) for i in range(count)][::-1]
        self.sent += count

        async def worker() -> None:
            while queue:
                status = await post(self.app, queue.pop(), self.credential)
                assert status == 202, status

        started = time.process_time()
        await asyncio.gather(*(worker() for _ in range(self.concurrency)))
        return (time.process_time() - started) / count * 1e6


async def count_calls(driver: Driver, posts: int) -> None:
    calls: collections.Counter[str] = collections.Counter()
    kinds = {"call": 0, "c_call": 0}

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event in kinds:
            kinds[event] += 1
            code = frame.f_code
            name = f"{code.co_name} ({code.co_filename.split('/')[-1]})" if event == "call" else f"C {arg.__qualname__}"
            calls[name] += 1

    sys.setprofile(profile)
    await driver.run(posts)
    sys.setprofile(None)
    print(f"calls a post: Python {kinds['call'] / posts:.1f}, builtin {kinds['c_call'] / posts:.1f}")
    for name, n in calls.most_common(40):
        print(f"  {n / posts:6.2f} {name}")


def stages(app: Any) -> dict[str, Callable[[], None]]:
    """Each ablation: a function that takes that stage out (and puts back the others)."""
    from services.gateway.api import camera_posts

    rt, posts = app.state.runtime, app.camera_posts
    saved = (camera_posts.parse_payload, camera_posts.current_camera, rt.lone_reads.publish, posts.reads)
    cached: dict[str, Any] = {}

    def parsed(*args: Any, **kwargs: Any) -> Any:
        first = cached.setdefault("parsed", saved[0](*args, **kwargs))
        return type(first)(format=first.format, kind=first.kind, reads=[first.reads[0].model_copy()])

    async def camera(request: Any, state: Any) -> Any:
        if "camera" not in cached:
            cached["camera"] = await saved[1](request, state)
        return cached["camera"]

    async def held(read: Any) -> int:
        return 0

    def only(parse: bool = False, auth: bool = False, publish: bool = False, telemetry: bool = False) -> None:
        camera_posts.parse_payload = parsed if parse else saved[0]
        camera_posts.current_camera = camera if auth else saved[1]  # type: ignore[assignment]
        rt.lone_reads.publish = held if publish else saved[2]
        posts.reads = saved[3].app if telemetry else saved[3]

    return {
        "full post": only,
        "less parse (its result reused)": lambda: only(parse=True),
        "less credential and rate limit": lambda: only(auth=True),
        "less READS publish and ack wait": lambda: only(publish=True),
        "less request telemetry middleware": lambda: only(telemetry=True),
        "less all four": lambda: only(parse=True, auth=True, publish=True, telemetry=True),
    }


async def ablate(app: Any, driver: Driver, posts: int, rounds: int) -> None:
    ways = stages(app)
    cpu: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(rounds):
        for name, take_out in ways.items():
            take_out()
            await driver.run(300)
            cpu[name].append(await driver.run(posts))
    ways["full post"]()
    full = statistics.median(cpu["full post"])
    for name, figures in cpu.items():
        median = statistics.median(figures)
        spread = f"{min(figures):.0f}-{max(figures):.0f}"
        print(f"  {name:36s} {median:6.1f} µs a post ({spread}); saves {full - median:5.1f}")


async def measure(stack: LocalStack, args: argparse.Namespace) -> None:
    await stack.prepare()
    from services.gateway.app import create_app
    from services.gateway.settings import GatewaySettings

    env = stack.env_for("gateway", http_port=0)
    env.update(ALPR_LOG_LEVEL="warning", ALPR_RATE_CAMERA_PER_SECOND="1000000")
    settings: dict[str, Any] = {k.removeprefix("ALPR_").lower(): v for k, v in env.items()}  # pydantic converts
    app = create_app(GatewaySettings(**settings))
    async with app.router.lifespan_context(app):
        driver = Driver(app, stack.camera_credential, args.concurrency)
        await driver.run(300)  # warm: the credential cached, a lease taken, the code paths run once
        if args.calls:
            await count_calls(driver, args.posts)
        elif args.ablate:
            await ablate(app, driver, args.posts, args.rounds)
        else:
            for r in range(args.rounds):
                print(f"round {r}: gateway CPU {await driver.run(args.posts):.1f} µs a post")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--calls", action="store_true")
    parser.add_argument("--ablate", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="alpr-gateway-post-"))
    folder.chmod(0o755)  # the postgres system user enters it
    stack = LocalStack(folder, durable=False)
    stack.start_infrastructure()
    try:
        uvloop.run(measure(stack, args))
    finally:
        stack.stop_infrastructure()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
