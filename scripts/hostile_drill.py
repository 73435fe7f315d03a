"""Hostile drill (issue #21): what a hostile outsider would send, against a running `alpr up`; then a plain search.

One line per probe (probe, expected, got, held or BROKEN; the probes are in scripts/hostile_probes.py), then
`hostile: N of M held`, then an ordinary search that must answer 200 and the audit chain's verification
(`POST /v1/audit/verify`, what `alpr audit verify` checks), which must be ok. Exit code 1 if anything broke.
Tokens are minted with the development issuer key in the data folder, as `alpr token --role ...` mints them;
the camera credential is `alpr token --role camera`'s, the partner's secret `.alpr/dev-partner.secret`.

The six state changes are probed with the audit service stopped. `alpr up` cannot stop one service (it stops
everything when one exits), so the drill pauses the audit process it runs: SIGSTOP to the pid `alpr up` writes
in `.alpr/run/audit.pid` (a development hook; only a process whose command line is `serve audit`), SIGCONT
afterwards. A paused audit service answers nothing, the harder case of a stopped one. With `--audit-by-hand`
(any deployment) the drill asks the operator to stop the audit service, and later to start it again.
Usage: python scripts/hostile_drill.py http://127.0.0.1:8080 [--data-dir .alpr] [--audit-by-hand]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from hostile_probes import PROBES, AuditSwitch, Door, Outcome, search_body

from services.cli.dev_issuer import DevIssuer
from services.cli.seed import dev_sub

ROLES = ("officer", "supervisor", "admin", "auditor")


class PausedAuditProcess:
    """The audit process of `alpr up`, paused and resumed by the pid file it writes (development only)."""

    def __init__(self, data_dir: Path) -> None:
        self.pid_file = data_dir / "run" / "audit.pid"

    def _pid(self) -> int:
        if not self.pid_file.exists():
            raise SystemExit(f"{self.pid_file} is missing: not an `alpr up` data folder? (see --audit-by-hand)")
        pid = int(self.pid_file.read_text().strip())
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        if b"serve audit" not in command:
            raise SystemExit(f"pid {pid} is not the audit service: {command!r}")
        return pid

    async def stop(self) -> None:
        os.kill(self._pid(), signal.SIGSTOP)

    async def start(self) -> None:
        os.kill(self._pid(), signal.SIGCONT)


class AuditByHand:
    """--audit-by-hand: the operator stops the audit service when asked, and starts it again."""

    async def stop(self) -> None:
        await asyncio.to_thread(input, "stop the audit service, then press Enter: ")

    async def start(self) -> None:
        await asyncio.to_thread(input, "start the audit service again, wait until it is ready, then press Enter: ")


async def run_drill(door: Door, *, out: Callable[[str], None] = print) -> bool:
    """Every probe, one line each, the tally, an ordinary search, the audit chain; True when all of it held."""
    outcomes: list[Outcome] = []
    for probe in PROBES:
        for outcome in await probe(door):
            out(outcome.line())
            outcomes.append(outcome)
    held = sum(o.held for o in outcomes)
    out(f"hostile: {held} of {len(outcomes)} held")
    # the plate of the date probes' good reads: found, the batches stored what they accepted
    ordinary = await door.send("POST", "/v1/searches", "officer", search_body(door.plate(20)))
    found = len(ordinary.json().get("reads", [])) if ordinary.status_code == 200 else 0
    out(f"ordinary search: {ordinary.status_code} ({found} of the drill's accepted batch reads found)")
    # the chain is whole after all of it: no record lost, none mangled (what `alpr audit verify` checks)
    verified = await door.send("POST", "/v1/audit/verify", "auditor")
    chain = verified.json() if verified.status_code == 200 else {}
    out(f"audit verify: {verified.status_code} ok={chain.get('ok')} records={chain.get('records_checked')}")
    return held == len(outcomes) and ordinary.status_code == 200 and chain.get("ok") is True


async def partner_headers(http: httpx.AsyncClient, secret: str) -> dict[str, str]:
    """A bearer token for the development partner, by the client credentials grant."""
    answer = await http.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=("dev-partner", secret))
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def main(base_url: str, data_dir: Path, audit_by_hand: bool) -> int:
    issuer = DevIssuer(data_dir / "dev-issuer")
    headers = {role: {"Authorization": f"Bearer {issuer.mint(dev_sub(role))}"} for role in ROLES}
    headers["camera"] = {"Authorization": f"Bearer {(data_dir / 'dev-camera.credential').read_text().strip()}"}
    audit: AuditSwitch = AuditByHand() if audit_by_hand else PausedAuditProcess(data_dir)
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        headers["partner"] = await partner_headers(http, (data_dir / "dev-partner.secret").read_text().strip())
        return 0 if await run_drill(Door(http, headers, audit)) else 1


if __name__ == "__main__":
    cli = argparse.ArgumentParser(description="Hostile drill against a running `alpr up` (issue #21)")
    cli.add_argument("base_url", help="the gateway URL `alpr up` printed")
    cli.add_argument("--data-dir", type=Path, default=Path(".alpr"))
    cli.add_argument("--audit-by-hand", action="store_true", help="ask the operator to stop and start audit")
    args = cli.parse_args()
    sys.exit(asyncio.run(main(args.base_url, args.data_dir, args.audit_by_hand)))
