"""Frames check (issue 29): each held-out photograph through `POST /v1/ingest/image`, and an exact search for its plate.

Against a running `alpr up`: every photo listed in services/recognizer/engine/holdout.txt (74, from
../shared/data/plates-openalpr-us) is posted as a camera would (multipart, `captured_at` now, so each run is
read afresh), its `GET /v1/ingest/image/{frame_id}` polled until it is no longer pending, and then an officer
searches (lawful purpose and case number) for the labelled plate, exactly; a photo counts as found when that
search returns one of its frame's reads. One line per photo, then
`frames check: N posted, N read, N no plate, N found by exact search (P%)`, then `frames timing: ...` (the
gateway's answer to a post, p50 and p95, and the time until every frame had its outcome: the posts are sent
one after another, so that is the recognizer's and records' pace on a backlog). Exit code 1 below --min-found.
The officer's token is minted with the development issuer key in the data folder (as `alpr token --role officer`);
the camera's credential is --camera-key, else the data folder's `dev-camera.credential`.
Usage: python scripts/frames_check.py http://127.0.0.1:8080 [--data-dir .alpr] [--camera-key ID.SECRET]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from services.cli.dev_issuer import DevIssuer  # noqa: E402
from services.cli.seed import dev_sub  # noqa: E402

HOLDOUT = REPO / "services" / "recognizer" / "engine" / "holdout.txt"
PHOTOS = REPO.parent / "shared" / "data" / "plates-openalpr-us"
ROUTE = "/v1/ingest/image"
PURPOSE = {
    "use": "stolen_or_wanted_vehicle",
    "case_number": "SJ-2026-004211",
    "reason": "Frames check: a photographed plate is found by an exact search",
}
BOUNDARY = "alpr-frames-check"


@dataclass
class Photo:
    name: str
    plate: str  # the label
    frame_id: str = ""
    status: str = "not posted"
    plates: list[str] = field(default_factory=list)
    read_ids: list[str] = field(default_factory=list)
    found: bool = False
    note: str = ""

    def line(self) -> str:
        read = ",".join(self.plates) or "-"
        found = "found" if self.found else "MISSED"
        return f"{self.name:<44} {self.plate:<9} {self.status:<9} read {read:<24} {found} {self.note}".rstrip()


@dataclass
class Tally:
    photos: list[Photo]
    post_ms: list[float] = field(default_factory=list)  # each accepted post's answer time
    posting_s: float = 0.0  # from the first post to the last answer
    outcomes_s: float = 0.0  # from the first post until no frame was pending

    def count(self, status: str) -> int:
        return sum(p.status == status for p in self.photos)

    @property
    def posted(self) -> int:
        return sum(bool(p.frame_id) for p in self.photos)

    @property
    def found(self) -> int:
        return sum(p.found for p in self.photos)

    def summary(self) -> str:
        share = 100.0 * self.found / len(self.photos) if self.photos else 0.0
        line = (
            f"frames check: {self.posted} posted, {self.count('read')} read, {self.count('no_plate')} no plate, "
            f"{self.found} found by exact search ({share:.1f}%)"
        )
        others = len(self.photos) - self.count("read") - self.count("no_plate")
        return line + (f"; {others} failed, pending or not posted" if others else "")

    def timing(self) -> str:
        """How long the gateway took to answer a post, and the whole path to every frame's outcome."""
        posts = sorted(self.post_ms)
        p50 = posts[len(posts) // 2] if posts else 0.0
        p95 = posts[min(len(posts) - 1, int(len(posts) * 0.95))] if posts else 0.0
        return (
            f"frames timing: post answered p50 {p50:.0f} ms, p95 {p95:.0f} ms; {len(posts)} posted in "
            f"{self.posting_s:.1f} s, every outcome {self.outcomes_s:.1f} s after the first post"
        )


def held_out(photos: Path = PHOTOS, holdout: Path = HOLDOUT) -> list[tuple[Path, str]]:
    """(image path, labelled plate) of each held-out photo, in the hold-out file's order."""
    labels: dict[str, str] = {}
    for row in (photos / "labels.tsv").read_text().splitlines()[1:]:
        cells = row.split("\t")
        if len(cells) >= 6:
            labels[cells[0]] = cells[5].strip().upper()
    names = [n.strip() for n in holdout.read_text().splitlines() if n.strip()]
    return [(photos / "images" / n, labels[n]) for n in names]


def form(data: bytes, captured_at: datetime) -> tuple[bytes, dict[str, str]]:
    """The photograph and its time as a camera's multipart post."""
    head = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="image"; filename="frame.jpg"\r\n\r\n'
    time_part = (
        f'\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name="captured_at"\r\n\r\n{captured_at.isoformat()}'
    )
    body = head.encode() + data + time_part.encode() + f"\r\n--{BOUNDARY}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


async def send(http: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """The request, waiting out a 429 (Retry-After) and a 503 a few times, as a camera or a client would."""
    for attempt in range(6):
        answer = await http.request(method, path, **kwargs)
        if answer.status_code not in (429, 503):
            return answer
        await asyncio.sleep(float(answer.headers.get("retry-after", 0.5 * 2**attempt)))
    return answer


async def check_frames(
    http: httpx.AsyncClient,
    camera: dict[str, str],
    officer: dict[str, str],
    photos: Sequence[tuple[Path, str]],
    *,
    deadline_s: float = 600.0,
    out: Callable[[str], None] = print,
) -> Tally:
    """Post each photo, wait for each frame's outcome, search for each labelled plate; one line per photo."""
    started = datetime.now(UTC)
    tally = Tally([Photo(path.name, plate) for path, plate in photos])
    first = time.monotonic()
    for photo, (path, _) in zip(tally.photos, photos, strict=True):
        body, headers = form(path.read_bytes(), datetime.now(UTC))
        sent = time.monotonic()
        answer = await send(http, "POST", ROUTE, content=body, headers={**camera, **headers})
        if answer.status_code == 202:
            tally.post_ms.append((time.monotonic() - sent) * 1000)
            photo.frame_id, photo.status = answer.json()["frame_id"], "pending"
        else:
            photo.note = f"post answered {answer.status_code} {answer.text[:120]}"
    tally.posting_s = time.monotonic() - first
    until = time.monotonic() + deadline_s
    while any(p.status == "pending" for p in tally.photos) and time.monotonic() < until:
        for photo in (p for p in tally.photos if p.status == "pending"):
            answer = await send(http, "GET", f"{ROUTE}/{photo.frame_id}", headers=camera)
            if answer.status_code == 200:
                outcome = answer.json()
                photo.status, photo.plates, photo.read_ids = outcome["status"], outcome["plates"], outcome["read_ids"]
                photo.note = outcome.get("error_code") or ""
        await asyncio.sleep(0.2)
    tally.outcomes_s = time.monotonic() - first
    window = {
        "since": (started - timedelta(minutes=5)).isoformat(),
        "until": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
    }
    for photo in tally.photos:
        if photo.read_ids:
            search = {"query": {"plate": photo.plate, "match": "exact", **window}, "purpose": PURPOSE}
            answer = await send(http, "POST", "/v1/searches", json=search, headers=officer)
            if answer.status_code == 200:
                photo.found = bool({r["read_id"] for r in answer.json()["reads"]} & set(photo.read_ids))
            else:
                photo.note = f"search answered {answer.status_code} {answer.text[:120]}"
        out(photo.line())
    out(tally.summary())
    out(tally.timing())
    return tally


async def main(base_url: str, data_dir: Path, camera_key: str | None, min_found: float) -> int:
    issuer = DevIssuer(data_dir / "dev-issuer")
    officer = {"Authorization": f"Bearer {issuer.mint(dev_sub('officer'))}"}
    key = camera_key or (data_dir / "dev-camera.credential").read_text().strip()
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        tally = await check_frames(http, {"Authorization": f"Bearer {key}"}, officer, held_out())
    return 0 if tally.photos and tally.found / len(tally.photos) * 100 >= min_found else 1


if __name__ == "__main__":
    cli = argparse.ArgumentParser(description="Held-out photos through POST /v1/ingest/image (issue 29)")
    cli.add_argument("base_url", help="the gateway URL `alpr up` printed")
    cli.add_argument("--data-dir", type=Path, default=Path(".alpr"))
    cli.add_argument("--camera-key", help="a camera's credential ID.SECRET (default: the data folder's dev camera)")
    cli.add_argument("--min-found", type=float, default=85.0, help="percent found below which the exit code is 1")
    args = cli.parse_args()
    sys.exit(asyncio.run(main(args.base_url, args.data_dir, args.camera_key, args.min_found)))
