"""The gateway port's round-robin TCP proxy (`alpr up --cluster`): connections take replicas in turn, a replica
that refuses is skipped, bytes pass both ways unchanged, and with every replica gone a client sees a close."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from services.cli.cluster.proxy import RoundRobinProxy
from services.cli.embedded import free_port


class Replica:
    """A TCP server that answers each connection with its name and then echoes what it reads."""

    def __init__(self, name: bytes) -> None:
        self.name = name
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._echo, args=(conn,), daemon=True).start()

    def _echo(self, conn: socket.socket) -> None:
        with conn:
            conn.sendall(self.name + b"\n")
            while data := conn.recv(65536):
                conn.sendall(data)

    def close(self) -> None:
        self.sock.close()


def _ask(port: int, payload: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(payload)
        received = b""
        want = len(payload) + 3  # "gN\n" and the echo
        while len(received) < want and (chunk := conn.recv(65536)):
            received += chunk
        return received


@pytest.fixture
def replicas() -> Iterator[list[Replica]]:
    pair = [Replica(b"g1"), Replica(b"g2")]
    yield pair
    for replica in pair:
        replica.close()


class TestRoundRobinProxy:
    def test_connections_take_the_replicas_in_turn_and_bytes_pass_unchanged(self, replicas: list[Replica]) -> None:
        proxy = RoundRobinProxy(free_port(), [r.port for r in replicas])
        proxy.start()
        try:
            payload = bytes(range(256)) * 1024  # larger than one relay chunk
            answers = [_ask(proxy.port, payload) for _ in range(4)]
        finally:
            proxy.stop()
        assert [a[:3] for a in answers] == [b"g1\n", b"g2\n", b"g1\n", b"g2\n"]
        assert all(a[3:] == payload for a in answers)

    def test_a_replica_that_refuses_is_skipped(self, replicas: list[Replica]) -> None:
        refusing = free_port()  # nothing listens there
        proxy = RoundRobinProxy(free_port(), [refusing, replicas[0].port, refusing])
        proxy.start()
        try:
            answers = [_ask(proxy.port, b"x")[:3] for _ in range(5)]
        finally:
            proxy.stop()
        assert answers == [b"g1\n"] * 5

    def test_with_every_replica_refusing_the_client_sees_a_closed_connection(self) -> None:
        proxy = RoundRobinProxy(free_port(), [free_port(), free_port()])
        proxy.start()
        try:
            assert _ask(proxy.port, b"x") == b""
        finally:
            proxy.stop()

    def test_a_taken_port_is_an_error_at_start(self, replicas: list[Replica]) -> None:
        with pytest.raises(RuntimeError, match="could not listen"):
            RoundRobinProxy(replicas[0].port, [replicas[1].port]).start()
