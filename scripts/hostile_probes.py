"""The hostile drill's probes (scripts/hostile_drill.py): what an outsider sends, and what must come back.

Every probe is an async function of the `Door` returning one `Outcome` per request it judges.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlencode

import httpx
from PIL import Image

MIB = 1024 * 1024
SETTLE_S = 2.0  # once audit is back: time for a change that would wrongly commit late to show up


class AuditSwitch(Protocol):
    async def stop(self) -> None: ...

    async def start(self) -> None: ...


@dataclass
class Door:
    """The gateway as the drill sees it: a client, a credential per role, and the audit switch."""

    http: httpx.AsyncClient
    headers: dict[str, dict[str, str]]
    audit: AuditSwitch
    marker: str = field(default_factory=lambda: uuid.uuid4().hex[:6].upper())
    hotlist_id: str | None = None

    def plate(self, n: int) -> str:
        """A plate of this run's own (a marker and a number), so runs never see each other's reads."""
        return f"9D{self.marker[:4]}{n}"

    async def send(self, method: str, path: str, role: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers[role], **kwargs.pop("headers", {})}
        if body is not None:
            # ASCII JSON: a lone surrogate travels as the escape `\ud800`, which no encoder refuses
            kwargs["content"] = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        return await self.http.request(method, path, headers=headers, **kwargs)


@dataclass
class Outcome:
    probe: str
    expected: str
    got: str
    held: bool

    def line(self) -> str:
        return f"{self.probe:<48} expected {self.expected:<26} got {self.got:<36} {'held' if self.held else 'BROKEN'}"


Probe = Callable[[Door], Awaitable[list[Outcome]]]


def now() -> datetime:
    return datetime.now(UTC)


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def search_body(plate: str, reason: str = "Vehicle reported stolen at knifepoint on Story Road") -> dict[str, Any]:
    query = {"plate": plate, "since": iso(now() - timedelta(days=1)), "until": iso(now() + timedelta(hours=1))}
    return {
        "query": query,
        "purpose": {"use": "stolen_or_wanted_vehicle", "case_number": "SJ-2026-4211", "reason": reason},
    }


def read(plate: str, at: datetime | str, **extra: Any) -> dict[str, Any]:
    return {"plate": plate, "captured_at": at if isinstance(at, str) else iso(at), "confidence": 0.9, **extra}


def got(response: httpx.Response) -> str:
    try:
        code = response.json().get("error", {}).get("code", "")
    except (ValueError, AttributeError):
        code = ""
    return f"{response.status_code} {code}".strip()


def judged(name: str, response: httpx.Response, expected: str = "4xx") -> Outcome:
    """Held when the answer is the expected status, or any 4xx for `4xx`."""
    held = response.status_code == int(expected) if expected.isdigit() else 400 <= response.status_code < 500
    return Outcome(name, expected, got(response), held)


async def text_probes(door: Door) -> list[Outcome]:
    """NUL, a C0 control and a lone surrogate in every place text enters: refused, never stored."""
    hotlist = await _hotlist(door)
    approval = await door.send("POST", "/v1/approvals", "officer", _approval("A witness recalled three characters"))
    outcomes = [] if approval.status_code == 201 else [Outcome("setup: an approval", "201", got(approval), False)]
    approval_id = approval.json()["approval_id"] if approval.status_code == 201 else str(uuid.uuid4())
    for label, bad in (("NUL", "\x00"), ("control", "\x07"), ("lone surrogate", "\ud800")):
        text = f"Vehicle reported stolen {bad} on Story Road"
        sends: list[tuple[str, str, str, str, Any]] = [
            ("search reason", "POST", "/v1/searches", "officer", search_body(door.plate(1), text)),
            ("approval request", "POST", "/v1/approvals", "officer", _approval(text)),
            ("approval refusal", "POST", f"/v1/approvals/{approval_id}/decision", "supervisor", _refusal(text)),
            ("partner search", "POST", "/partner/v1/searches", "partner", _partner_search(text)),
            ("hold", "POST", "/v1/holds", "officer", _hold(door.plate(2), text)),
            ("hotlist entry", "POST", f"/v1/hotlists/{hotlist}/entries", "admin", _entry(door.plate(3), text)),
            ("vendor payload", "POST", "/v1/ingest/genetec", "camera", _genetec(door.plate(4), text)),
            ("native read", "POST", "/v1/reads", "camera", read(f"7AB{bad}123", now())),
        ]
        for where, method, path, role, body in sends:
            outcomes.append(judged(f"{label} in {where}", await door.send(method, path, role, body)))
    return outcomes


async def token_probes(door: Door) -> list[Outcome]:
    """A token whose header `kid` is each JSON type: 401, never a 500."""
    outcomes = []
    for kid in ([], ["k"], {"k": 1}, 7, 1.5, True, None, "no-such-key", "\x00"):
        bearer = {"Authorization": f"Bearer {_forged_token(kid)}"}
        answer = await door.http.get("/v1/hotlists", headers=bearer)
        outcomes.append(judged(f"token kid {json.dumps(kid)}", answer, "401"))
    return outcomes


async def deep_json_probes(door: Door) -> list[Outcome]:
    """100,000 nested arrays, to a person's route and to the camera's."""
    deep = ("[" * 100_000 + "]" * 100_000).encode()
    content_type = {"Content-Type": "application/json"}
    outcomes = []
    for label, path, role in (
        ("deep JSON search", "/v1/searches", "officer"),
        ("deep JSON read", "/v1/reads", "camera"),
    ):
        outcomes.append(judged(label, await door.send("POST", path, role, content=deep, headers=content_type)))
    return outcomes


async def date_probes(door: Door) -> list[Outcome]:
    """A read dated outside the window: refused alone; in a batch named in `rejected` while the rest is stored."""
    outcomes = []
    dates = (
        ("year 1", "0001-01-01T00:00:00+01:00"),
        ("year 2099", "2099-06-01T12:00:00Z"),
        ("year 9999", "9999-12-15T12:00:00-08:00"),
        ("before the retention cutoff", iso(now() - timedelta(days=400))),
    )
    for n, (label, stamp) in enumerate(dates):
        alone = await door.send("POST", "/v1/reads", "camera", read(door.plate(10 + n), stamp))
        outcomes.append(judged(f"read dated {label}", alone))
        batch = {"reads": [read(door.plate(20), now() - timedelta(minutes=1)), read(door.plate(30 + n), stamp)]}
        answer = await door.send("POST", "/v1/reads", "camera", batch)
        body = answer.json() if answer.status_code == 202 else {}
        rejected = [r.get("index") for r in body.get("rejected", [])]
        held = answer.status_code == 202 and body.get("accepted") == 1 and rejected == [1]
        seen = f"{answer.status_code} accepted={body.get('accepted')} rejected={rejected}"
        outcomes.append(Outcome(f"batch with a read dated {label}", "202 accepted=1 rejected=[1]", seen, held))
    stored = await _find(door, door.plate(20))
    outcomes.append(
        Outcome("the batches' good read is stored", "found", "found" if stored else "missing", bool(stored))
    )
    return outcomes


async def resend_probes(door: Door) -> list[Outcome]:
    """A vendor resends a read under its own id with the zone changed (eight hours later): one sighting, not two.

    The resend travels in a batch, as a camera's store-and-forward sends it: a lone read's message is named by
    its id, and the bus drops a second message of that name within minutes before records could judge it."""
    plate, vendor_id, after = door.plate(70), f"drill-{door.marker}-resend", door.plate(71)
    taken = (now() - timedelta(hours=10)).replace(microsecond=0, tzinfo=None)
    first = read(plate, taken.isoformat() + "Z", read_id=vendor_id)
    resend = read(plate, taken.isoformat() + "-08:00", read_id=vendor_id)
    outcomes = [judged("read sent with zone Z", await door.send("POST", "/v1/reads", "camera", first), "202")]
    batch = {"reads": [resend, read(after, now() - timedelta(minutes=1))]}
    answer = await door.send("POST", "/v1/reads", "camera", batch)
    outcomes.append(judged("the same read id resent at -08:00 in a batch", answer, "202"))
    await _find(door, after)  # the batch is stored (or set aside) as one: once its other read is found
    answer = await door.send("POST", "/v1/searches", "officer", search_body(plate))
    found = len(answer.json()["reads"]) if answer.status_code == 200 else None
    seen = f"{found} sightings" if found is not None else got(answer)
    outcomes.append(Outcome("one read id sent at two instants", "1 sighting", seen, found == 1))
    return outcomes


async def image_probes(door: Door) -> list[Outcome]:
    """HTML posing as an image, a CR LF content type, 7.9 MiB (accepted) and 9 MiB (413) pictures."""
    html = base64.b64encode(b"<html><script>alert(document.cookie)</script></html>").decode()
    crlf = f"data:image/jpeg\r\nX-Injected: 1;base64,{base64.b64encode(_jpeg()).decode()}"
    outcomes = []
    for n, (label, data) in enumerate((("HTML image", f"data:text/html;base64,{html}"), ("CR LF content type", crlf))):
        plate = door.plate(40 + n)
        images = [{"kind": "plate", "data_b64": data}]
        answer = await door.send(
            "POST", "/v1/reads", "camera", read(plate, now() - timedelta(minutes=1), images=images)
        )
        if 400 <= answer.status_code < 500:
            outcomes.append(judged(label, answer, "4xx or image/* served"))
            continue
        served = await _served_image(door, plate)
        held = answer.status_code == 202 and served.startswith(("404", "image/"))
        outcomes.append(Outcome(label, "4xx or image/* served", f"{answer.status_code}, image {served}", held))
    for label, size, expected in (("7.9 MiB image", int(7.9 * MIB), "202"), ("9 MiB image", 9 * MIB, "413")):
        files = _hikvision(door.plate(42 if expected == "202" else 43), _jpeg(size))
        outcomes.append(judged(label, await door.send("POST", "/v1/ingest/hikvision", "camera", files=files), expected))
    return outcomes


async def cursor_and_id_probes(door: Door) -> list[Outcome]:
    """Crafted cursors and ids that are not UUIDs: a 4xx each."""
    hotlist = await _hotlist(door)
    forged = base64.urlsafe_b64encode(b'{"after": "\\u0000", "seq": -1}').decode()
    outcomes = []
    for n, cursor in enumerate(("!!!", "eyJ4IjoxfQ", forged, "A" * 600), start=1):
        listed = await door.send("GET", f"/v1/hotlists/{hotlist}/entries", "officer", params={"after": cursor})
        outcomes.append(judged(f"crafted cursor {n} on hotlist entries", listed))
        body = search_body(door.plate(1))
        body["query"]["cursor"] = cursor
        outcomes.append(
            judged(f"crafted cursor {n} on a search", await door.send("POST", "/v1/searches", "officer", body))
        )
    for method, path, role in (
        ("GET", "/v1/reads/not-a-uuid?search_id=also-not", "officer"),
        ("GET", "/v1/reads/1%20OR%201=1/image", "officer"),
        ("GET", "/v1/approvals/12345", "officer"),
        ("GET", "/v1/holds/%00", "officer"),
        ("GET", "/v1/alerts/..%2F..%2Fetc", "officer"),
        ("DELETE", f"/v1/hotlists/{hotlist}/entries/not-a-uuid", "admin"),
        ("GET", "/v1/hotlists/-1", "officer"),
        ("GET", "/v1/admin/agreements/x'y", "admin"),
    ):
        outcomes.append(judged(f"id in {method} {path[:40]}", await door.send(method, path, role)))
    return outcomes


async def audit_stopped_probes(door: Door) -> list[Outcome]:
    """The six state changes with the audit service stopped: 503 each, and afterwards nothing changed."""
    hotlist = await _hotlist(door)
    alert_id = await _alert(door, hotlist)
    mark = f"DRILL-{door.marker}"
    partner_list = {"entries": [{"plate": door.plate(52)}]}
    changes: list[tuple[str, str, str, str, Any]] = [
        ("hold", "POST", "/v1/holds", "officer", _hold(door.plate(50), f"Armed robbery suspect vehicle {mark}")),
        ("hotlist entry", "POST", f"/v1/hotlists/{hotlist}/entries", "admin", _entry(door.plate(51), mark)),
        ("alert disposition", "POST", f"/v1/alerts/{alert_id}/disposition", "officer", _disposition(mark)),
        ("camera registration", "POST", "/v1/admin/cameras", "admin", _camera(mark)),
        ("partner hotlist replacement", "PUT", "/partner/v1/hotlists", "partner", partner_list),
        ("agreement proposal", "POST", "/v1/admin/agreements", "admin", _agreement(mark)),
    ]
    answers = []
    await door.audit.stop()
    try:
        for _, method, path, role, body in changes:
            answers.append(await door.send(method, path, role, body))
    finally:
        await door.audit.start()
    await asyncio.sleep(SETTLE_S)
    left = await _left_behind(door, hotlist, alert_id, mark)
    outcomes = []
    for (label, *_), answer in zip(changes, answers, strict=True):
        trace = left.get(label, "not visible through the API")
        held = answer.status_code == 503 and not trace.startswith("CHANGED")
        outcomes.append(Outcome(f"{label}, audit stopped", "503, nothing changed", f"{got(answer)}, {trace}", held))
    return outcomes


async def insider_probes(door: Door) -> list[Outcome]:
    """An insider's shortcuts: a plate of dashes as "every plate", a correction made without looking at the image."""
    outcomes = []
    for plate in ("--", " - "):
        answer = await door.send("POST", "/v1/searches", "officer", search_body(plate))
        outcomes.append(judged(f"search for the plate {plate!r}", answer, "422"))
    plate = door.plate(60)
    image = {"kind": "plate", "data_b64": base64.b64encode(_jpeg()).decode()}
    posted = await door.send("POST", "/v1/reads", "camera", read(plate, now(), images=[image]))
    found = await _find(door, plate) if posted.status_code == 202 else None
    if found is None:
        return [*outcomes, Outcome("correction probes", "a stored read", got(posted), False)]
    read_id, search_id = found
    fix = {"plate": door.plate(61), "reason": "The image shows an 8 where the reader gave a B"}
    path = f"/v1/reads/{read_id}/corrections"
    outcomes.append(judged("correction naming no image view", await door.send("POST", path, "officer", fix), "422"))
    forged = {**fix, "image_view_id": str(uuid.uuid4())}
    outcomes.append(judged("correction naming a made-up view", await door.send("POST", path, "officer", forged), "403"))
    viewed = await door.send("GET", f"/v1/reads/{read_id}/image", "officer", params={"search_id": search_id})
    named = {**fix, "image_view_id": viewed.headers.get("x-image-view-id", "")}
    outcomes.append(
        judged("correction naming the officer's own look", await door.send("POST", path, "officer", named), "201")
    )
    return outcomes


PROBES: tuple[Probe, ...] = (
    text_probes,
    token_probes,
    deep_json_probes,
    date_probes,
    resend_probes,
    image_probes,
    cursor_and_id_probes,
    insider_probes,
    audit_stopped_probes,
)


async def _left_behind(door: Door, hotlist: str, alert_id: str, mark: str) -> dict[str, str]:
    """What each refused change left, seen through the API once audit is back."""

    async def absent(path: str, role: str, needle: str) -> str:
        answer = await door.send("GET", path, role)
        if answer.status_code != 200:
            return f"check answered {answer.status_code}"
        return "CHANGED" if needle in answer.text else "unchanged"

    alert = await door.send("GET", f"/v1/alerts/{alert_id}", "officer")
    disposed = alert.status_code == 200 and alert.json().get("disposition") is not None
    return {
        # listing holds names the case and a purpose, as any look at holds must
        "hold": await absent(f"/v1/holds?{urlencode(_HOLD_CASE_PURPOSE)}", "officer", mark),
        "hotlist entry": await absent(f"/v1/hotlists/{hotlist}/entries", "officer", door.plate(51)),
        "alert disposition": "CHANGED" if disposed else "unchanged",
        "camera registration": await absent("/v1/admin/cameras", "admin", mark.lower()),
        "agreement proposal": await absent("/v1/admin/agreements", "admin", mark),
    }


async def _hotlist(door: Door) -> str:
    """This run's hotlist, made on first use."""
    if door.hotlist_id is None:
        body = {"name": f"hostile drill {door.marker}", "source": "manual"}
        created = await door.send("POST", "/v1/hotlists", "admin", body)
        created.raise_for_status()
        door.hotlist_id = str(created.json()["hotlist_id"])
    return door.hotlist_id


async def _alert(door: Door, hotlist: str) -> str:
    """An alert of this run's own to dispose of: a hotlist entry, then a read of its plate."""
    plate = door.plate(60)
    (await door.send("POST", f"/v1/hotlists/{hotlist}/entries", "admin", _entry(plate, "Stolen"))).raise_for_status()
    await asyncio.sleep(0.5)  # records picks up the new entry before the read arrives
    (await door.send("POST", "/v1/reads", "camera", read(plate, now(), state="CA"))).raise_for_status()
    for _ in range(40):
        page = await door.send("GET", "/v1/alerts", "officer", params={"limit": 100})
        for alert in page.json().get("alerts", []) if page.status_code == 200 else []:
            if alert.get("entry", {}).get("plate") == plate:
                return str(alert["alert_id"])
        await asyncio.sleep(0.25)
    return str(uuid.uuid4())  # none raised: the disposition then answers 404, and the probe line shows it


async def _find(door: Door, plate: str, tries: int = 40) -> tuple[str, str] | None:
    """(read id, search id) of the stored read with this plate, waiting for records to store it."""
    for _ in range(tries):
        answer = await door.send("POST", "/v1/searches", "officer", search_body(plate))
        if answer.status_code == 200 and answer.json()["reads"]:
            return str(answer.json()["reads"][0]["read_id"]), str(answer.json()["search_id"])
        await asyncio.sleep(0.25)
    return None


async def _served_image(door: Door, plate: str) -> str:
    """How the stored image of the read with this plate is served: `404`, or its type and guard."""
    found = await _find(door, plate)
    if found is None:
        return "read not stored"
    read_id, search_id = found
    image = await door.send("GET", f"/v1/reads/{read_id}/image", "officer", params={"search_id": search_id})
    if image.status_code != 200:
        return str(image.status_code)
    kind = image.headers.get("content-type", "")
    return kind if image.headers.get("x-content-type-options") == "nosniff" else f"{kind} without nosniff"


def _approval(justification: str) -> dict[str, Any]:
    body = search_body("8AB*")
    body["query"]["match"] = "partial"  # broad: it needs a supervisor's approval
    return {**body, "justification": justification}


def _refusal(reason: str) -> dict[str, Any]:
    return {"decision": "deny", "reason": reason}


def _entry(plate: str, reason: str) -> dict[str, Any]:
    return {"plate": plate, "state": "CA", "reason": reason}


def _camera(mark: str) -> dict[str, Any]:
    return {
        "camera_id": mark.lower(),
        "name": f"Story Rd eastbound {mark}",
        "vendor": "openalpr",
        "model": "Rekor Scout",
        "latitude": 37.33,
        "longitude": -121.86,
        "heading": 90,
    }


def _disposition(notes: str) -> dict[str, Any]:
    return {"code": "not_located", "notes": notes}


def _partner_search(requester: str) -> dict[str, Any]:
    agency = {"ori": "CA0410000", "name": "Santa Clara County Sheriff"}
    return {
        "plate": "8ABC123",
        "since": iso(now() - timedelta(days=7)),
        "until": iso(now()),
        "requester": {"name": requester, "badge": "4412"},
        "agency": agency,
        "on_behalf_of": agency,
        "purpose": {"use": "stolen_or_wanted_vehicle", "case_number": "SC-2026-1187", "reason": "Stolen vehicle"},
    }


_HOLD_CASE_PURPOSE = {
    "use": "wanted_suspect",
    "case_number": "SJ-2026-004211",
    "reason": "Armed robbery suspect vehicle: checking the holds of this case",
}


def _hold(plate: str, justification: str) -> dict[str, Any]:
    return {
        "plate": plate,
        "case_number": "SJ-2026-004211",
        "use": "wanted_suspect",
        "justification": justification,
        "since": iso(now() - timedelta(days=7)),
        "until": iso(now()),
        "review_date": (now() + timedelta(days=60)).date().isoformat(),
    }


def _genetec(plate: str, vehicle_type: str) -> dict[str, Any]:
    return {
        "Id": str(uuid.uuid4()),
        "PlateRead": plate,
        "Timestamp": now().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3],
        "PlateAnalytics": [{"Key": "Vehicle Type", "Score": 1.0, "Value": vehicle_type}],
    }


def _agreement(reason: str) -> dict[str, Any]:
    return {
        "partner_ori": "CA0410000",
        "allowed_uses": ["stolen_or_wanted_vehicle"],
        "scopes": ["reads:search"],
        "max_lookback_days": 30,
        "document_ref": f"contracts/{reason}.pdf",
        "document_sha256": hashlib.sha256(reason.encode()).hexdigest(),
        "effective_from": iso(now()),
        "expires_at": iso(now() + timedelta(days=300)),
        "reason": reason,
    }


def _jpeg(size: int = 0) -> bytes:
    """A real JPEG, padded with APP15 segments (still a valid image) to `size` bytes when asked."""
    out = io.BytesIO()
    Image.new("RGB", (64, 32), (200, 200, 200)).save(out, "JPEG")
    data = out.getvalue()
    pad = bytearray()
    while size and len(data) + len(pad) + 4 < size:
        chunk = min(65533, size - len(data) - len(pad) - 4)
        pad += b"\xff\xef" + (chunk + 2).to_bytes(2, "big") + b"\0" * chunk
    return data[:2] + bytes(pad) + data[2:]


def _hikvision(plate: str, image: bytes) -> dict[str, tuple[str, bytes, str]]:
    """A Hikvision ANPR multipart post: the event XML and one picture, bytes as the camera sends them."""
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?><EventNotificationAlert version="2.0" '
        'xmlns="http://www.hikvision.com/ver20/XMLSchema"><macAddress>d4:e8:53:bc:4c:02</macAddress>'
        f"<channelID>1</channelID><dateTime>{now().isoformat(timespec='seconds')}</dateTime>"
        f"<eventType>ANPR</eventType><ANPR><licensePlate>{plate}</licensePlate>"
        f"<confidenceLevel>97</confidenceLevel></ANPR><UUID>{uuid.uuid4().hex}</UUID></EventNotificationAlert>"
    )
    return {
        "anpr.xml": ("anpr.xml", xml.encode(), "application/xml"),
        "licensePlatePicture.jpg": ("licensePlatePicture.jpg", image, "image/jpeg"),
    }


def _forged_token(kid: Any) -> str:
    """A JWT whose header carries `kid` of any JSON type; no valid signature is needed to reach the check."""

    def b64(value: Any) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    claims = {"sub": "dev-officer", "exp": int(now().timestamp()) + 600}
    return f"{b64({'alg': 'ES256', 'typ': 'JWT', 'kid': kid})}.{b64(claims)}.c2lnbmF0dXJl"
