"""The large upload: a PDF brand asset streamed as multipart/form-data through the gateway to media
(POST /api/brands/{id}/files?kind=brand_asset), while the resident memory of the gateway, media and
the bench itself is sampled. The body is generated chunk by chunk; nobody holds the file whole."""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import psutil

from bench.report import mebibytes
from bench.workspace import BRANDS, BenchUser, describe

MIB = 1024 * 1024
SAMPLE_INTERVAL_S = 0.05
SUGGESTED_LIMIT = 262_144_000  # 250 MiB, room for the default 200 MiB file
WARMUP_BYTES = 20 * MIB
_FILLER_LINE = b"\n% zapcut bench filler, a PDF comment line: no CR LF, so no multipart boundary"
PDF_MAGIC = b"%PDF-1.7"


@dataclass(frozen=True)
class MultipartPdf:
    """A multipart/form-data body with one part, `file`: a PDF of exactly `size` bytes (%PDF- and
    filler), yielded in chunks of at most `chunk_bytes`, so its length is known before it exists."""

    size: int
    filename: str = "bench-asset.pdf"
    chunk_bytes: int = MIB
    boundary: str = field(default_factory=lambda: f"bench-{secrets.token_hex(16)}")

    @property
    def head(self) -> bytes:
        return (
            f"--{self.boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{self.filename}"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode() + PDF_MAGIC

    @property
    def tail(self) -> bytes:
        return f"\r\n--{self.boundary}--\r\n".encode()

    @property
    def length(self) -> int:
        return len(self.head) + (self.size - len(PDF_MAGIC)) + len(self.tail)

    @property
    def headers(self) -> dict[str, str]:
        # An exact Content-Length (httpx then sends no chunked encoding) lets the gateway refuse
        # an oversized body before reading it.
        return {
            "Content-Type": f"multipart/form-data; boundary={self.boundary}",
            "Content-Length": str(self.length),
        }

    async def chunks(self) -> AsyncIterator[bytes]:
        filler = (_FILLER_LINE * (self.chunk_bytes // len(_FILLER_LINE) + 1))[: self.chunk_bytes]
        yield self.head
        remaining = self.size - len(PDF_MAGIC)
        while remaining > 0:
            yield filler if remaining >= len(filler) else filler[:remaining]
            remaining -= len(filler)
        yield self.tail


class RssSampler:
    """Resident memory of some processes every SAMPLE_INTERVAL_S while it is entered: what each held
    just before, the most it held meanwhile, and what it holds right after (and, read by the caller,
    what it held before the warm-up upload)."""

    def __init__(self, pids: dict[str, int]):
        self.processes = {}
        for name, pid in pids.items():
            try:
                self.processes[name] = psutil.Process(pid)
            except psutil.Error:
                pass
        self.before_warmup: dict[str, int] = {}
        self.before: dict[str, int] = {}
        self.peak: dict[str, int] = {}
        self.after: dict[str, int] = {}
        self.samples = 0
        self._task: asyncio.Task | None = None

    def read(self) -> dict[str, int]:
        rss = {}
        for name, process in self.processes.items():
            try:
                rss[name] = process.memory_info().rss
            except psutil.Error:
                pass
        return rss

    def _sample(self) -> None:
        self.samples += 1
        for name, value in self.read().items():
            self.peak[name] = max(value, self.peak.get(name, 0))

    async def _run(self) -> None:
        while True:
            self._sample()
            await asyncio.sleep(SAMPLE_INTERVAL_S)

    async def __aenter__(self) -> RssSampler:
        self.before = self.read()
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc_info) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._sample()
        self.after = self.read()


@dataclass
class UploadResult:
    size: int
    elapsed_s: float | None = None  # request sent -> 201 received
    error: str | None = None
    skipped: str | None = None  # why the upload was not attempted
    key: str | None = None
    memory: RssSampler | None = None

    @property
    def mib_per_s(self) -> float | None:
        return self.size / MIB / self.elapsed_s if self.elapsed_s else None


async def upload(
    client: httpx.AsyncClient, owner: BenchUser, brand_id: str, size: int, pids: dict[str, int], max_s: float
) -> UploadResult:
    result = UploadResult(size)
    if refusal := await _size_refused(client, owner, brand_id, size):
        result.skipped = refusal
        return result
    # Once through the same path first (more than one S3 part, within the default limit), so the
    # measured delta is what an upload costs rather than what the processes set up on first use.
    sampler = RssSampler(pids | {"bench (client)": os.getpid()})
    sampler.before_warmup = sampler.read()
    try:
        await _post(client, owner, brand_id, MultipartPdf(WARMUP_BYTES), max_s)
    except (httpx.HTTPError, TimeoutError):
        pass  # whatever went wrong, the measured upload meets it too and reports it
    body = MultipartPdf(size)
    async with sampler:
        started = time.perf_counter()
        try:
            response = await _post(client, owner, brand_id, body, max_s)
        except (httpx.HTTPError, TimeoutError) as exc:
            result.error = f"{type(exc).__name__}: {exc}" if str(exc) else f"no answer within {max_s:g} s"
            response = None
        elapsed = time.perf_counter() - started
    result.memory = sampler
    if response is None:
        return result
    if response.status_code == 413:
        result.skipped = _limit_hint(size, describe(response))
    elif response.status_code != 201:
        result.error = describe(response)
        if "deadline_exceeded" in result.error:
            result.error += " (the gateway's streamed call to media outlasted its gRPC deadline)"
    else:
        stored = [a for a in response.json()["brand_assets"] if a["size"] == size]
        if not stored:
            result.error = "201, but the brand lists no asset of that size"
        else:
            result.elapsed_s, result.key = elapsed, stored[-1]["key"]
    return result


async def _post(
    client: httpx.AsyncClient, owner: BenchUser, brand_id: str, body: MultipartPdf, max_s: float
) -> httpx.Response:
    return await asyncio.wait_for(
        client.post(
            f"{BRANDS}/{brand_id}/files",
            params={"kind": "brand_asset"},
            content=body.chunks(),
            headers=owner.auth | body.headers,
            timeout=httpx.Timeout(60, connect=5),
        ),
        max_s,
    )


async def _size_refused(client: httpx.AsyncClient, owner: BenchUser, brand_id: str, size: int) -> str | None:
    """Ask for a presigned upload of this size (nothing is stored unless a PUT and a confirm
    follow): the gateway checks the same MAX_BRAND_ASSET_BYTES for both upload paths."""
    response = await client.post(
        f"{BRANDS}/{brand_id}/uploads",
        json={
            "kind": "brand_asset",
            "filename": "bench.pdf",
            "content_type": "application/pdf",
            "size": size,
        },
        headers=owner.auth,
    )
    if response.status_code == 413:
        return _limit_hint(size, describe(response))
    return None


def _limit_hint(size: int, refusal: str) -> str:
    return (
        f"the gateway refuses a {mebibytes(size)} brand asset ({refusal}); for this row start the stack "
        f"with `MAX_BRAND_ASSET_BYTES={max(SUGGESTED_LIMIT, size)} make dev`"
    )


def render(result: UploadResult) -> str:
    title = f"{mebibytes(result.size)} PDF brand asset, multipart through the gateway to media"
    if result.skipped:
        return f"{title}: not measured: {result.skipped}"
    lines = [f"{title}:"]
    if result.error:
        lines.append(f"  failed: {result.error}")
    else:
        lines.append(
            f"  201 after {result.elapsed_s:.2f} s: {result.mib_per_s:.1f} MiB/s (request sent -> response)"
        )
    memory = result.memory
    if memory is None or not memory.before:
        lines.append("  memory: the processes were not found (not on this machine?)")
        return "\n".join(lines)
    lines.append(
        f"  resident memory (RSS), sampled every {SAMPLE_INTERVAL_S * 1000:.0f} ms"
        f" ({memory.samples} samples), after a {mebibytes(WARMUP_BYTES)} warm-up upload:"
    )
    lines.append(
        f"    {'process':<16} {'before warm-up':>14} {'before':>10} {'peak':>10} {'peak-before':>12}"
        f" {'after':>10}"
    )
    for name, before in memory.before.items():
        peak, after = memory.peak.get(name, before), memory.after.get(name)
        lines.append(
            f"    {name:<16} {mebibytes(memory.before_warmup.get(name)):>14} {mebibytes(before):>10}"
            f" {mebibytes(peak):>10} {mebibytes(peak - before, 1, signed=True):>12} {mebibytes(after):>10}"
        )
    return "\n".join(lines)
