"""The brands API as tests use it: files that start like their type, presigned uploads (ask, PUT to
S3, confirm), multipart uploads through the gateway, downloads, and what media stores."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx

from zapcut.media.v1 import media_pb2

MIB = 1024 * 1024
IMAGE_LIMIT = 10 * MIB
ASSET_LIMIT = 25 * MIB
MAGIC = {
    "image/png": b"\x89PNG\r\n\x1a\n",
    "image/jpeg": b"\xff\xd8\xff\xe0",
    "image/webp": b"RIFF\x00\x00\x00\x00WEBPVP8 ",
    "application/pdf": b"%PDF-1.7\n",
}


def file_bytes(content_type: str, size: int = 1000) -> bytes:
    """Bytes that start like a file of that type (what the gateway sniffs), then unique filler."""
    head = MAGIC[content_type]
    filler = (uuid.uuid4().bytes * (size // 16 + 1))[: size - len(head)]
    return head + filler


async def ask_upload(http, user, brand_id, *, kind="product_image", content_type="image/png", size=1000,
                     filename="photo.png") -> httpx.Response:  # fmt: skip
    return await http.post(
        f"/api/brands/{brand_id}/uploads",
        json={"kind": kind, "filename": filename, "content_type": content_type, "size": size},
        headers=user["headers"],
    )


async def put_to_s3(ticket: dict, data: bytes, headers: dict | None = None) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.put(ticket["url"], content=data, headers=headers or ticket["headers"])


async def confirm(http, user, brand_id, upload_id: str) -> httpx.Response:
    return await http.post(
        f"/api/brands/{brand_id}/uploads/confirm", json={"upload_id": upload_id}, headers=user["headers"]
    )


async def presigned_upload(http, user, brand_id, data: bytes, *, kind="product_image",
                           content_type="image/png", filename="photo.png") -> dict:  # fmt: skip
    """The whole presigned flow; the brand as confirm returned it."""
    ticket = await ask_upload(
        http, user, brand_id, kind=kind, content_type=content_type, size=len(data), filename=filename
    )
    assert ticket.status_code == 201, ticket.text
    assert (await put_to_s3(ticket.json(), data)).status_code == 200
    confirmed = await confirm(http, user, brand_id, ticket.json()["upload_id"])
    assert confirmed.status_code == 200, confirmed.text
    return confirmed.json()


async def multipart_upload(http, user, brand_id, data, *, kind="product_image", content_type="image/png",
                           filename="photo.png", timeout=30) -> httpx.Response:  # fmt: skip
    return await http.post(
        f"/api/brands/{brand_id}/files",
        params={"kind": kind},
        files={"file": (filename, data, content_type)},
        headers=user["headers"],
        timeout=timeout,
    )


async def download(url: str) -> bytes:
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.get(url)
    assert response.status_code == 200, response.text
    return response.content


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    error = response.json()
    return response.status_code, error["code"], error["detail"]


async def stored_keys(media_stub, prefix: str) -> list[str]:
    reply = await media_stub.ListObjects(media_pb2.ListObjectsRequest(prefix=prefix))
    return [o.key for o in reply.objects]


async def nothing_stored_soon(media_stub, prefix: str) -> bool:
    """Nothing under prefix, at once or shortly: an upload the gateway stopped midway is cancelled,
    and media removes whatever it was writing at that moment right after the response went out."""
    return await poll(lambda: _is_empty(media_stub, prefix), timeout_s=10)


async def _is_empty(media_stub, prefix: str) -> bool:
    return await stored_keys(media_stub, prefix) == []


async def exists(media_stub, key: str) -> bool:
    reply = await media_stub.ObjectExists(media_pb2.ObjectRequest(ref=media_pb2.ObjectRef(key=key)))
    return reply.exists


def without_urls(brand: dict) -> dict:
    """A brand as JSON minus its presigned URLs, which are signed anew on every read."""
    strip = [{k: v for k, v in f.items() if k != "url"} for f in brand["product_images"]]
    assets = [{k: v for k, v in f.items() if k != "url"} for f in brand["brand_assets"]]
    return {**brand, "product_images": strip, "brand_assets": assets}


async def poll(check, timeout_s: float = 20, interval_s: float = 0.2):
    """Until check() (sync or async) is truthy; its last value."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(interval_s)


async def listed_file(http, user, brand_id, key: str) -> dict:
    brand = (await http.get(f"/api/brands/{brand_id}", headers=user["headers"])).json()
    [item] = [f for f in (*brand["product_images"], *brand["brand_assets"]) if f["key"] == key]
    return item
