"""The local balancer of `DEV_REPLICAS=2 make dev`: one public port in front of several gateway
processes, as a Kubernetes Service is in front of the gateway's pods.

`python -m devstack.balancer --listen 127.0.0.1:8000 127.0.0.1:9001 127.0.0.1:9002`

A TCP proxy: each client connection is passed to the next gateway in turn (round-robin); a gateway
that refuses the connection (stopped, restarting) is skipped. The client's connection is not tied
to one gateway: when a gateway closes its side between requests (uvicorn closes idle keep-alive
connections when it shuts down) the client's stays open, and its next request goes to the next
gateway. A gateway that closes the connection without answering the request it was sent (a
request that reached it as it shut down) gets no second chance: the same bytes go to the next
gateway, as long as they fit in REPLAY_LIMIT_BYTES (a larger upload fails with the connection
instead). That is HTTP/1.1 without pipelining, which is what our clients speak.

It adds no header, so the gateways see every client as 127.0.0.1: per-address limits (sign-up and
login rate limits) count all clients of a DEV_REPLICAS stack together, unless they send
X-Forwarded-For, which the gateway trusts from loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import signal
import sys
from dataclasses import dataclass, field

CHUNK_BYTES = 64 * 1024
# The unanswered bytes kept to send to the next gateway when one leaves without answering.
REPLAY_LIMIT_BYTES = 1024 * 1024
CONNECT_TIMEOUT_S = 2.0

Address = tuple[str, int]


def parse_address(text: str) -> Address:
    host, _, port = text.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


@dataclass
class Unanswered:
    """What the client sent that no gateway has answered yet: the request in flight."""

    data: bytearray = field(default_factory=bytearray)
    replayable: bool = True
    answered: bool = True

    def sent(self, chunk: bytes) -> None:
        if self.answered:  # a new request
            self.data.clear()
            self.replayable = True
            self.answered = False
        if self.replayable:
            self.data += chunk
            if len(self.data) > REPLAY_LIMIT_BYTES:
                self.replayable = False
                self.data.clear()

    def got_answer(self) -> None:
        self.answered = True
        self.data.clear()


class Balancer:
    def __init__(self, backends: list[Address]):
        self.backends = backends
        self._next = itertools.cycle(range(len(backends)))

    async def connect(
        self, avoid: Address | None = None
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A connection to the next gateway that accepts one (the one to avoid only if no other does)."""
        start = next(self._next)
        order = [self.backends[(start + i) % len(self.backends)] for i in range(len(self.backends))]
        order.sort(key=lambda address: address == avoid)  # stable: round-robin order otherwise
        error: OSError | None = None
        for host, port in order:
            try:
                return await asyncio.wait_for(asyncio.open_connection(host, port), CONNECT_TIMEOUT_S)
            except (OSError, TimeoutError) as exc:
                error = exc if isinstance(exc, OSError) else OSError(str(exc))
        raise error or OSError("no gateway")

    async def serve_client(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        request = Unanswered()
        backend_w: asyncio.StreamWriter | None = None
        backend_address: Address | None = None
        answers: asyncio.Task[None] | None = None
        reading: asyncio.Task[bytes] | None = asyncio.create_task(client_r.read(CHUNK_BYTES))
        try:
            while reading is not None or answers is not None:
                waiting = {t for t in (reading, answers) if t is not None}
                done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                if answers in done:
                    # The gateway closed its side (or failed).
                    answers = None
                    if backend_w is not None:
                        backend_w.close()
                    backend_w = None
                    if request.answered:
                        if reading is None:
                            break  # the client had finished too
                        continue  # idle: the client's next request opens a new connection
                    if not request.replayable or reading is None:
                        break
                    backend_r, backend_w = await self.connect(avoid=backend_address)
                    backend_address = backend_w.get_extra_info("peername")[:2]
                    backend_w.write(bytes(request.data))
                    await backend_w.drain()
                    answers = asyncio.create_task(self._answers(backend_r, client_w, request))
                if reading in done:
                    chunk = reading.result()
                    if not chunk:  # the client finished sending
                        reading = None
                        if backend_w is None:
                            break
                        with contextlib.suppress(OSError):
                            backend_w.write_eof()
                        continue
                    request.sent(chunk)
                    if backend_w is None:
                        backend_r, backend_w = await self.connect()
                        backend_address = backend_w.get_extra_info("peername")[:2]
                        answers = asyncio.create_task(self._answers(backend_r, client_w, request))
                    backend_w.write(chunk)
                    with contextlib.suppress(OSError):
                        await backend_w.drain()  # a gateway gone now shows up as its answers ending
                    reading = asyncio.create_task(client_r.read(CHUNK_BYTES))
        except OSError:
            pass  # the client went away, or no gateway accepts connections
        finally:
            for task in (reading, answers):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, OSError):
                        await task
            for writer in (backend_w, client_w):
                if writer is not None:
                    writer.close()

    @staticmethod
    async def _answers(
        backend_r: asyncio.StreamReader, client_w: asyncio.StreamWriter, request: Unanswered
    ) -> None:
        """Copy a gateway's answers to the client until the gateway closes its side."""
        with contextlib.suppress(OSError):
            while chunk := await backend_r.read(CHUNK_BYTES):
                request.got_answer()
                client_w.write(chunk)
                await client_w.drain()


async def serve(listen: Address, backends: list[Address]) -> None:
    balancer = Balancer(backends)
    server = await asyncio.start_server(balancer.serve_client, listen[0], listen[1], reuse_address=True)
    names = ", ".join(f"{h}:{p}" for h, p in backends)
    print(f"balancing {listen[0]}:{listen[1]} over {names}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m devstack.balancer")
    parser.add_argument("--listen", required=True, help="host:port to accept connections on")
    parser.add_argument("backends", nargs="+", help="host:port of each gateway")
    args = parser.parse_args(argv)
    try:
        asyncio.run(serve(parse_address(args.listen), [parse_address(b) for b in args.backends]))
    except OSError as exc:
        sys.exit(f"balancer: {exc}")


if __name__ == "__main__":
    main()
