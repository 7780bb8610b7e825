"""The media service as tests use it: refs, streamed and presigned uploads, presigned downloads, its
rows in PostgreSQL, and the bucket inspected over moto's HTTP API with httpx (signed with SigV4 here:
only services/media may import boto3)."""

from __future__ import annotations

import hashlib
import hmac
import os
import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote

import grpc
import httpx
import pytest

from zapcut.media.v1 import media_pb2

MIB = 1024 * 1024
S3_NS = {"s3": "http://s3.amazonaws.com/doc/2006-03-01/"}
PNG = b"\x89PNG\r\n\x1a\n"


def product_image(brand_id=None, name="image.png"):
    return media_pb2.ObjectRef(product_image=media_pb2.ProductImage(brand_id=brand_id or new_id(), name=name))


def new_id() -> str:
    return str(uuid.uuid4())


async def upload(stub, ref, data: bytes, content_type="image/png", chunk=256 * 1024, expected_size=0):
    async def messages():
        yield media_pb2.UploadObjectRequest(
            header=media_pb2.UploadHeader(ref=ref, content_type=content_type, expected_size=expected_size)
        )
        for start in range(0, len(data), chunk):
            yield media_pb2.UploadObjectRequest(chunk=data[start : start + chunk])
        yield media_pb2.UploadObjectRequest(finish=media_pb2.UploadFinish())

    return await stub.UploadObject(messages(), timeout=60)


async def rpc_error(call) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call
    return err.value


def media_row(db, key: str):
    return db.execute(
        "SELECT size, content_type, checksum_sha256, version_id, brand_id, ad_project_id"
        " FROM media.media_objects WHERE key = %s",
        (key,),
    ).fetchone()


class SigV4(httpx.Auth):
    """AWS Signature Version 4 for plain httpx requests to S3 (moto refuses anonymous ones)."""

    def __init__(self, key_id: str, secret: str, region: str):
        self.key_id, self.secret, self.region = key_id, secret, region

    def auth_flow(self, request: httpx.Request):
        amz_date = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        scope = f"{amz_date[:8]}/{self.region}/s3/aws4_request"
        payload_hash = hashlib.sha256(request.content).hexdigest()
        request.headers["x-amz-date"] = amz_date
        request.headers["x-amz-content-sha256"] = payload_hash
        signed = sorted(["host", "x-amz-content-sha256", "x-amz-date"])
        query = sorted(parse_qsl(request.url.query.decode(), keep_blank_values=True))
        canonical = "\n".join(
            [
                request.method,
                quote(request.url.path, safe="/-_.~"),
                "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in query),
                "".join(f"{name}:{request.headers[name].strip()}\n" for name in signed),
                ";".join(signed),
                payload_hash,
            ]
        )
        to_sign = "\n".join(
            ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
        )
        key = ("AWS4" + self.secret).encode()
        for part in (amz_date[:8], self.region, "s3", "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        request.headers["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={self.key_id}/{scope}, "
            f"SignedHeaders={';'.join(signed)}, Signature={signature}"
        )
        yield request


def xml(response: httpx.Response) -> ET.Element:
    response.raise_for_status()
    return ET.fromstring(response.content)  # noqa: S314 - our own test server's answer


def versions_of(s3, key: str) -> list[str]:
    """Version ids and delete markers S3 still holds for exactly `key`."""
    root = xml(s3.get("", params={"versions": "", "prefix": key}))
    found = []
    for tag in ("Version", "DeleteMarker"):
        for item in root.findall(f"s3:{tag}", S3_NS):
            if item.findtext("s3:Key", namespaces=S3_NS) == key:
                found.append(item.findtext("s3:VersionId", namespaces=S3_NS))
    return found


def incomplete_uploads(s3, key: str) -> list[str]:
    root = xml(s3.get("", params={"uploads": "", "prefix": key}))
    return [u.findtext("s3:UploadId", namespaces=S3_NS) for u in root.findall("s3:Upload", S3_NS)]


def png_bytes(size: int = 1000) -> bytes:
    return PNG + os.urandom(size - len(PNG))


async def presign(stub, ref, data: bytes, content_type="image/png") -> media_pb2.PresignedUpload:
    return await stub.PresignUpload(
        media_pb2.PresignUploadRequest(ref=ref, content_type=content_type, size=len(data), max_size=MIB)
    )


async def put_presigned(put: media_pb2.PresignedUpload, data: bytes, headers: dict | None = None) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.put(put.url, content=data, headers=headers or dict(put.headers))
    assert response.status_code == 200, response.text


async def confirm(stub, ref, data: bytes, content_type="image/png") -> media_pb2.StoredObject:
    return await stub.ConfirmUpload(
        media_pb2.ConfirmUploadRequest(ref=ref, content_type=content_type, size=len(data))
    )


async def fetch(url: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(url)
    assert response.status_code == 200, response.text
    return response


async def presigned_get(stub, key: str) -> httpx.Response:
    reply = await stub.PresignDownload(media_pb2.PresignDownloadRequest(ref=media_pb2.ObjectRef(key=key)))
    return await fetch(reply.url)
