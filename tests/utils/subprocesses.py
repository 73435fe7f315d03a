"""Run a script as a subprocess from an async test, so the session's event loop keeps turning meanwhile.

A blocking `subprocess.run` of a drill (minutes when it fails) froze the in-process services the session's
`system` fixture runs on that loop: they answered no NATS ping, the server dropped them as stale, and the next
test's first requests to audit found no responder. Awaited here, they keep answering while the script runs.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Sequence
from pathlib import Path

DRAIN_S = 5.0  # after a kill, how long to wait for the pipes' last bytes (a grandchild may still hold them)


async def run_script(command: Sequence[str], *, cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    """`subprocess.run(command, capture_output=True, text=True, timeout=...)`, awaited.

    As with `subprocess.run`, a timeout kills the script and raises `TimeoutExpired` carrying what it printed
    until then (a drill's progress lines are what a timeout needs), and any other way out kills it too.
    """
    proc = await asyncio.create_subprocess_exec(
        *command, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None
    # read by tasks of their own, so a timeout cancels the wait, not the reads: what was read is kept
    reading = asyncio.gather(proc.stdout.read(), proc.stderr.read())
    try:
        try:
            await asyncio.wait_for(proc.wait(), timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            out, err = await _drained(reading)
            raise subprocess.TimeoutExpired(list(command), timeout, output=out, stderr=err) from None
        out, err = await _drained(reading)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        reading.cancel()
    assert proc.returncode is not None  # wait() returned: the process has exited
    return subprocess.CompletedProcess(
        list(command), proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")
    )


async def _drained(reading: asyncio.Future[list[bytes]]) -> tuple[bytes, bytes]:
    out, err = await asyncio.wait_for(asyncio.shield(reading), DRAIN_S)
    return out, err
