"""The gateway's documented port, spread over its replicas connection by connection, as a Kubernetes Service.

A plain TCP relay (no HTTP parsing): each accepted connection goes to the next replica in turn, and a replica
that refuses the connection is skipped for the next one, so a dead replica costs no client more than its own
open connections. It runs on its own event loop in a thread of the `alpr up` process.
"""

from __future__ import annotations

import asyncio
import itertools
import threading

CHUNK = 64 * 1024


class RoundRobinProxy:
    """Listens on 127.0.0.1:`port` and relays each connection to one of `backends` (ports on 127.0.0.1)."""

    def __init__(self, port: int, backends: list[int]) -> None:
        if not backends:
            raise ValueError("a proxy needs at least one backend")
        self.port = port
        self.backends = list(backends)
        self._turn = itertools.cycle(range(len(self.backends)))
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="gateway-proxy", daemon=True)
        self._listening = threading.Event()
        self._failure: BaseException | None = None
        self._server: asyncio.Server | None = None

    def start(self) -> None:
        """Listen, or raise what kept it from listening."""
        self._thread.start()
        self._listening.wait(10)
        if self._failure is not None:
            raise RuntimeError(f"the gateway proxy could not listen on {self.port}: {self._failure}")

    def stop(self) -> None:
        """Stop listening and drop the connections in relay."""
        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(5)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        relays = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in relays:
            task.cancel()
        await asyncio.gather(*relays, return_exceptions=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._server = self._loop.run_until_complete(asyncio.start_server(self._relay, "127.0.0.1", self.port))
        except OSError as exc:
            self._failure = exc
            self._listening.set()
            return
        self._listening.set()
        self._loop.run_forever()
        self._loop.close()

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        """The next replica that accepts, trying each at most once."""
        for _ in self.backends:
            port = self.backends[next(self._turn)]
            try:
                return await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                continue
        return None

    async def _relay(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        upstream = await self._connect()
        if upstream is None:  # every replica refused: the client sees a closed connection and retries
            client_writer.close()
            return
        up_reader, up_writer = upstream
        await asyncio.gather(_pipe(client_reader, up_writer), _pipe(up_reader, client_writer))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until either side ends, then close the writer, which ends the opposite pipe too."""
    try:
        while chunk := await reader.read(CHUNK):
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()
