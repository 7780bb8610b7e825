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
from typing import Any

from fastapi import HTTPException, Request
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.common.logo import LOGO_TYPES
from services.gateway.config import Settings
from zapcut.media.v1 import media_pb2

IMAGE_TYPES = {"image/png", "image/jpeg", "image/webp"}
ASSET_TYPES = IMAGE_TYPES | {"application/pdf"}
AUDIO_TYPES = {"audio/mpeg", "audio/wav", "audio/aac", "audio/mp4"}
# Other names browsers and systems give the same formats.
TYPE_ALIASES = {
    "audio/mp3": "audio/mpeg",
    "audio/x-wav": "audio/wav",
    "audio/wave": "audio/wav",
    "audio/vnd.wave": "audio/wav",
    "audio/x-aac": "audio/aac",
    "audio/x-m4a": "audio/mp4",
    "audio/m4a": "audio/mp4",
}
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
    if kind == "logo":
        return FileRules(kind, LOGO_TYPES, settings.max_logo_bytes)
    if kind == "audio":
        return FileRules(kind, frozenset(AUDIO_TYPES), settings.max_audio_bytes)
    raise HTTPException(422, "kind must be product_image, brand_asset, logo or audio")


def check_file(rules: FileRules, content_type: str, size: int | None) -> str:
    content_type = content_type.split(";")[0].strip().lower()
    content_type = TYPE_ALIASES.get(content_type, content_type)
    if content_type not in rules.types:
        allowed = ", ".join(sorted(rules.types))
        raise HTTPException(422, f"a {rules.kind} must be one of {allowed}, not {content_type or 'untyped'}")
    if size is not None and size > rules.max_bytes:
        raise HTTPException(413, f"a {rules.kind} may be at most {rules.max_bytes} bytes")
    return content_type


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def object_name(filename: str) -> str:
    """A unique, layout-safe object name that still shows the user's filename."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    safe = _UNSAFE.sub("_", base).lstrip("._")[:100] or "file"
    return f"{uuid.uuid4().hex[:12]}-{safe}"


# Where each kind of brand file lives (services/media/keys.py): {prefix}{brand_id}/{name}.
# A logo and audio are brand assets to media; accounts lists them apart.
KEY_PREFIXES = {
    "product_image": "product-images/",
    "brand_asset": "brand-assets/",
    "logo": "brand-assets/",
    "audio": "brand-assets/",
}


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


def read_ticket(secret: bytes, ticket: str, brand_id: str, user_id: str) -> dict[str, Any]:
    body, _, mac = ticket.rpartition(".")
    expected = hmac.new(secret, body.encode(), hashlib.sha256).hexdigest()
    # As bytes: compare_digest refuses str with non-ASCII characters, and any text may arrive here.
    if not body or not hmac.compare_digest(mac.encode(), expected.encode()):
        raise HTTPException(422, "upload_id is not one this API handed out")
    payload: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    if payload.get("brand_id") != brand_id or payload.get("user_id") != user_id:
        raise HTTPException(404, "upload not found")
    if payload.get("exp", 0) < time.time():
        raise HTTPException(422, "upload_id has expired; ask for a new upload")
    payload["name"] = _name_in_brand(payload, brand_id)
    return payload


def _name_in_brand(payload: dict, brand_id: str) -> str:
    """The file's name, if the ticket's key is one directly in the brand's own folder for its kind.
    Only this API signs tickets, and it signs no other; checked all the same, before anything
    reaches media, so that no ticket can make media touch another brand's files."""
    prefix = KEY_PREFIXES.get(payload.get("kind", ""))
    key = payload.get("key")
    if prefix is None or not isinstance(key, str) or not key.startswith(f"{prefix}{brand_id}/"):
        raise HTTPException(404, "upload not found")
    name = key.removeprefix(f"{prefix}{brand_id}/")
    if not name or "/" in name or ".." in name:
        raise HTTPException(404, "upload not found")
    return name


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
        self._body_complete = False
        self._pending: list[bytes] = []
        self._ended = False  # the reader took the end marker
        self.error: StarletteHTTPException | None = None

    def _parser(self, boundary: bytes) -> MultipartParser:
        def on_header_field(data: bytes, start: int, end: int) -> None:
            self._field += data[start:end]

        def on_header_value(data: bytes, start: int, end: int) -> None:
            self._value += data[start:end]

        def on_header_end() -> None:
            self._headers[self._field.strip().lower()] = self._value.strip()
            self._field, self._value = b"", b""

        def on_headers_finished() -> None:
            _, params = parse_options_header(self._headers.get(b"content-disposition", b""))
            self._in_file = params.get(b"name") == b"file" and not self._file_seen
            if self._in_file:
                self._file_seen = True
                filename = params.get(b"filename", b"").decode("utf-8", "replace")
                content_type = self._headers.get(b"content-type", b"").decode("latin-1")
                if not self.header.done():
                    self.header.set_result((filename, content_type))
            self._headers = {}

        def on_part_data(data: bytes, start: int, end: int) -> None:
            if self._in_file:
                self._pending.append(bytes(data[start:end]))

        def on_part_end() -> None:
            self._in_file = False

        def on_end() -> None:
            self._body_complete = True

        return MultipartParser(
            boundary,
            {
                "on_header_field": on_header_field,
                "on_header_value": on_header_value,
                "on_header_end": on_header_end,
                "on_headers_finished": on_headers_finished,
                "on_part_data": on_part_data,
                "on_part_end": on_part_end,
                "on_end": on_end,
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
            if not self._body_complete:
                # The parser doesn't check this itself: a body cut short would pass for a smaller file.
                raise HTTPException(422, "incomplete multipart body: the closing boundary is missing")
        except StarletteHTTPException as exc:  # ours, or the body limit's 413
            self.error = exc
        except asyncio.CancelledError:
            # The handler gave up on the upload and nobody reads the queue any more: end without
            # waiting for room in it.
            self.header.cancel()
            raise
        except Exception as exc:  # the parser's own errors, or the client went away
            self.error = HTTPException(422, f"malformed or incomplete multipart body: {exc}")
        self._no_file_part()
        await self.queue.put(None)
        if self.error is not None:
            raise self.error

    def _no_file_part(self) -> None:
        if not self.header.done():
            self.header.set_exception(HTTPException(422, "the form has no part named file"))

    async def read_head(self, n: int) -> bytes:
        """At least the first n bytes of the file (all of it when shorter), to check its type
        before anything is sent to media."""
        head = b""
        while len(head) < n and not self._ended:
            chunk = await self.queue.get()
            if chunk is None:
                self._ended = True
                if self.error is not None:
                    raise self.error
            else:
                head += chunk
        return head

    async def chunks(self) -> AsyncIterator[bytes]:
        """The rest of the file, after read_head."""
        while not self._ended and (chunk := await self.queue.get()) is not None:
            yield chunk
        self._ended = True
        if self.error is not None:
            # Raising (not just ending) makes the upload to media fail instead of storing a torso.
            raise self.error
