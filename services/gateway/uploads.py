"""Brand files: which types and sizes are allowed, safe object names, the signed upload tickets of
the presigned flow, and the streamed multipart flow (the bytes go to media as they arrive)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

from fastapi import HTTPException, Request
from python_multipart.multipart import MultipartParser, parse_options_header

from services.gateway.config import Settings
from zapcut.media.v1 import media_pb2

IMAGE_TYPES = {"image/png", "image/jpeg", "image/webp"}
ASSET_TYPES = IMAGE_TYPES | {"application/pdf"}
CHUNK_QUEUE_DEPTH = 4  # chunks waiting for media at most: what bounds the gateway's memory per upload


@dataclass(frozen=True)
class FileRules:
    kind: str
    types: frozenset[str]
    max_bytes: int


def rules_for(kind: str, settings: Settings) -> FileRules:
    if kind == "product_image":
        return FileRules(kind, frozenset(IMAGE_TYPES), settings.max_product_image_bytes)
    if kind == "brand_asset":
        return FileRules(kind, frozenset(ASSET_TYPES), settings.max_brand_asset_bytes)
    raise HTTPException(422, "kind must be product_image or brand_asset")


def check_file(rules: FileRules, content_type: str, size: int | None) -> str:
    content_type = content_type.split(";")[0].strip().lower()
    if content_type not in rules.types:
        allowed = ", ".join(sorted(rules.types))
        raise HTTPException(422, f"a {rules.kind} must be one of {allowed}, not {content_type or 'untyped'}")
    if size is not None and size > rules.max_bytes:
        raise HTTPException(413, f"a {rules.kind} may be at most {rules.max_bytes} bytes")
    return content_type


def looks_like(content_type: str, head: bytes) -> bool:
    """The first bytes match the declared type (a renamed .exe is not a PNG)."""
    if content_type == "image/png":
        return head.startswith(b"\x89PNG\r\n\x1a\n")
    if content_type == "image/jpeg":
        return head.startswith(b"\xff\xd8\xff")
    if content_type == "image/webp":
        return head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    if content_type == "application/pdf":
        return head.startswith(b"%PDF-")
    return False


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def object_name(filename: str) -> str:
    """A unique, layout-safe object name that still shows the user's filename."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    safe = _UNSAFE.sub("_", base).lstrip("._")[:100] or "file"
    return f"{uuid.uuid4().hex[:12]}-{safe}"


def file_ref(kind: str, brand_id: str, name: str) -> media_pb2.ObjectRef:
    if kind == "product_image":
        return media_pb2.ObjectRef(product_image=media_pb2.ProductImage(brand_id=brand_id, name=name))
    return media_pb2.ObjectRef(brand_asset=media_pb2.BrandAsset(brand_id=brand_id, name=name))


# --- tickets of the presigned flow ----------------------------------------------------------------


def sign_ticket(secret: bytes, payload: dict) -> str:
    """What the client hands back to confirm an upload: the announced file, signed with SECRET_KEY,
    so confirm cannot be pointed at another key, brand, size or type."""
    body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")
    mac = hmac.new(secret, body.encode(), hashlib.sha256).hexdigest()
    return f"{body}.{mac}"


def read_ticket(secret: bytes, ticket: str, brand_id: str, user_id: str) -> dict:
    body, _, mac = ticket.rpartition(".")
    expected = hmac.new(secret, body.encode(), hashlib.sha256).hexdigest()
    if not body or not hmac.compare_digest(mac, expected):
        raise HTTPException(422, "upload_id is not one this API handed out")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    if payload.get("brand_id") != brand_id or payload.get("user_id") != user_id:
        raise HTTPException(404, "upload not found")
    if payload.get("exp", 0) < time.time():
        raise HTTPException(422, "upload_id has expired; ask for a new upload")
    return payload


# --- the streamed multipart flow ------------------------------------------------------------------


@dataclass
class FilePart:
    filename: str
    content_type: str
    chunks: AsyncIterator[bytes]


class MultipartFileStream:
    """Parses a multipart/form-data body as it arrives and yields the `file` part's bytes through a
    small queue, so a file of any size passes through in bounded memory."""

    def __init__(self, request: Request, max_bytes: int):
        self.request = request
        self.max_bytes = max_bytes
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue(CHUNK_QUEUE_DEPTH)
        self.header: asyncio.Future[tuple[str, str]] = asyncio.get_running_loop().create_future()
        self.size = 0
        self._headers: dict[bytes, bytes] = {}
        self._field = b""
        self._value = b""
        self._in_file = False
        self._file_seen = False
        self._pending: list[bytes] = []
        self.error: Exception | None = None

    def _parser(self, boundary: bytes) -> MultipartParser:
        def on_header_field(data, start, end):
            self._field += data[start:end]

        def on_header_value(data, start, end):
            self._value += data[start:end]

        def on_header_end():
            self._headers[self._field.strip().lower()] = self._value.strip()
            self._field, self._value = b"", b""

        def on_headers_finished():
            _, params = parse_options_header(self._headers.get(b"content-disposition", b""))
            self._in_file = params.get(b"name") == b"file" and not self._file_seen
            if self._in_file:
                self._file_seen = True
                filename = params.get(b"filename", b"").decode("utf-8", "replace")
                content_type = self._headers.get(b"content-type", b"").decode("latin-1")
                if not self.header.done():
                    self.header.set_result((filename, content_type))
            self._headers = {}

        def on_part_data(data, start, end):
            if self._in_file:
                self._pending.append(bytes(data[start:end]))

        def on_part_end():
            self._in_file = False

        return MultipartParser(
            boundary,
            {
                "on_header_field": on_header_field,
                "on_header_value": on_header_value,
                "on_header_end": on_header_end,
                "on_headers_finished": on_headers_finished,
                "on_part_data": on_part_data,
                "on_part_end": on_part_end,
            },
        )

    async def pump(self) -> None:
        """Read the request body into the parser; file bytes go to the queue (backpressure: the
        request is read no faster than media takes the bytes)."""
        content_type = self.request.headers.get("content-type", "")
        kind, params = parse_options_header(content_type)
        if kind != b"multipart/form-data" or b"boundary" not in params:
            raise HTTPException(415, "send the file as multipart/form-data with a part named file")
        parser = self._parser(params[b"boundary"])
        try:
            async for chunk in self.request.stream():
                parser.write(chunk)
                for piece in self._pending:
                    self.size += len(piece)
                    if self.size > self.max_bytes:
                        raise HTTPException(413, f"the file is larger than {self.max_bytes} bytes")
                    await self.queue.put(piece)
                self._pending.clear()
            parser.finalize()
        except HTTPException as exc:
            self.error = exc
            raise
        except Exception as exc:  # the parser's own errors, or the client went away
            self.error = HTTPException(422, f"malformed or incomplete multipart body: {exc}")
            raise self.error from None
        finally:
            if not self.header.done():
                self.header.set_exception(HTTPException(422, "the form has no part named file"))
            await self.queue.put(None)

    async def chunks(self) -> AsyncIterator[bytes]:
        while (chunk := await self.queue.get()) is not None:
            yield chunk
        if self.error is not None:
            # Raising (not just ending) makes the upload to media fail instead of storing a torso.
            raise self.error
