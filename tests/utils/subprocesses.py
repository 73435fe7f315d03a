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


async def run_script(command: Sequence[str], *, cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    """`subprocess.run(command, capture_output=True, text=True, timeout=...)`, awaited; killed at `timeout`."""
    proc = await asyncio.create_subprocess_exec(
        *command, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        out, err = await proc.communicate()
        raise subprocess.TimeoutExpired(list(command), timeout, output=out, stderr=err) from None
    assert proc.returncode is not None  # communicate() returns once the process has exited
    return subprocess.CompletedProcess(
        list(command), proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")
    )
