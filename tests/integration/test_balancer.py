"""devstack's local balancer (devstack/balancer.py) in front of two small HTTP servers on free ports:
connections in turn, a refusing backend skipped, a client's connection kept when a backend closes
it between requests, and a request a backend closed without answering sent to the other one."""

from __future__ import annotations

import asyncio
import contextlib

from devstack.balancer import Balancer
from devstack.processes import free_ports


class Backend:
    """Answers each request line with `<name> <n>`; after `close_after` answers on a connection it
    closes it (as uvicorn does with idle connections when it stops); with `drop_requests` it reads a
    request and closes without answering (as a request arriving while it stops)."""

    def __init__(self, name: str, close_after: int = 0, drop_requests: bool = False):
        self.name = name
        self.close_after = close_after
        self.drop_requests = drop_requests
        self.seen = 0
        self.server: asyncio.Server | None = None

    async def start(self, port: int) -> None:
        self.server = await asyncio.start_server(self.serve, "127.0.0.1", port)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        answered = 0
        with contextlib.suppress(OSError):
            while line := await reader.readline():
                self.seen += 1
                if self.drop_requests:
                    break
                writer.write(f"{self.name} {line.decode().strip()}\n".encode())
                await writer.drain()
                answered += 1
                if self.close_after and answered >= self.close_after:
                    break
        writer.close()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


async def balanced(backends: list[Backend], *, start: list[bool] | None = None):
    """The balancer on a free port in front of the backends (those marked False not started)."""
    listen, *ports = free_ports(1 + len(backends))
    for backend, port, up in zip(backends, ports, start or [True] * len(backends), strict=True):
        if up:
            await backend.start(port)
    balancer = Balancer([("127.0.0.1", port) for port in ports])
    server = await asyncio.start_server(balancer.serve_client, "127.0.0.1", listen)
    return server, listen


async def ask(reader, writer, text: str) -> str:
    writer.write(f"{text}\n".encode())
    await writer.drain()
    return (await asyncio.wait_for(reader.readline(), 10)).decode().strip()


async def test_each_connection_goes_to_the_next_backend_and_a_refusing_one_is_skipped():
    a, b, c = Backend("a"), Backend("b"), Backend("c")
    server, port = await balanced([a, b, c], start=[True, False, True])
    answers = []
    for n in range(4):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        answers.append((await ask(reader, writer, str(n))).split()[0])
        writer.close()
    server.close()
    await a.stop()
    await c.stop()
    assert "b" not in answers and {"a", "c"} == set(answers)


async def test_a_backend_closing_between_requests_leaves_the_client_connected_to_the_other():
    a, b = Backend("a", close_after=1), Backend("b", close_after=1)
    server, port = await balanced([a, b])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    first = await ask(reader, writer, "1")
    await asyncio.sleep(0.2)  # the backend has closed its side by now
    second = await ask(reader, writer, "2")
    writer.close()
    server.close()
    await a.stop()
    await b.stop()
    assert first.endswith(" 1") and second.endswith(" 2")


async def test_a_request_a_backend_closed_without_answering_is_answered_by_the_other():
    dropping, answering = Backend("a", drop_requests=True), Backend("b")
    server, port = await balanced([dropping, answering])
    answers = []
    for n in range(2):  # the first connection goes to one backend, the second to the other
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        answers.append(await ask(reader, writer, str(n)))
        writer.close()
    server.close()
    await dropping.stop()
    await answering.stop()
    assert answers == ["b 0", "b 1"]
    assert dropping.seen >= 1  # it did get a request, and closed without answering
