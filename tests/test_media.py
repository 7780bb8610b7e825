"""The media service as a real process against moto's S3 server and PostgreSQL.

S3 is inspected over moto's HTTP API with httpx: only services/media may import boto3.
"""

import asyncio
import hashlib
import hmac
import os
import subprocess
import sys
import time
import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, parse_qsl, quote, urlsplit

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from devstack.processes import free_port, wait_for_port
from services.common.grpc_client import open_channel
from zapcut.common.v1 import dependencies_pb2
from zapcut.media.v1 import media_pb2, media_pb2_grpc

MIB = 1024 * 1024
S3_NS = {"s3": "http://s3.amazonaws.com/doc/2006-03-01/"}
PREFIXES = ("generated-videos/", "product-images/", "brand-assets/", "scene-videos/", "audio/", "incoming/")
PNG = b"\x89PNG\r\n\x1a\n"


# --- helpers -------------------------------------------------------------------------------------


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


@pytest.fixture
def s3(stack):
    """A signed httpx client on the bucket in the test S3 server (path-style)."""
    env = stack.app_env()
    base = f"{env['AWS_S3_ENDPOINT_URL']}/{env['AWS_S3_BUCKET']}"
    auth = SigV4(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env["AWS_REGION"])
    with httpx.Client(base_url=base, auth=auth, timeout=10) as client:
        yield client


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


# --- the process ---------------------------------------------------------------------------------


async def test_media_is_serving(grpc_channel):
    reply = await health_pb2_grpc.HealthStub(grpc_channel("media")).Check(
        health_pb2.HealthCheckRequest(service="media"), timeout=2
    )
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def test_media_reports_postgres_and_s3(media_stub):
    reply = await media_stub.CheckDependencies(dependencies_pb2.CheckDependenciesRequest())
    assert sorted((d.name, d.ok) for d in reply.dependencies) == [("postgres", True), ("s3", True)]


def test_bucket_is_prepared_at_start(s3):
    for prefix in PREFIXES:
        assert s3.head(prefix).status_code == 200, prefix
    versioning = xml(s3.get("", params={"versioning": ""}))
    assert versioning.findtext("s3:Status", namespaces=S3_NS) == "Enabled"
    rules = {
        rule.findtext("s3:ID", namespaces=S3_NS): rule
        for rule in xml(s3.get("", params={"lifecycle": ""})).findall("s3:Rule", S3_NS)
    }
    abort = rules["abort-incomplete-multipart-uploads"]
    assert abort.findtext("s3:AbortIncompleteMultipartUpload/s3:DaysAfterInitiation", namespaces=S3_NS) == "7"
    staging = rules["expire-staging-uploads"]
    assert staging.findtext("s3:Filter/s3:Prefix", namespaces=S3_NS) == "incoming/"
    assert staging.findtext("s3:Expiration/s3:Days", namespaces=S3_NS) == "1"
    assert staging.findtext("s3:NoncurrentVersionExpiration/s3:NoncurrentDays", namespaces=S3_NS) == "1"


# --- streamed uploads ----------------------------------------------------------------------------


async def test_streamed_upload_is_stored_and_recorded(media_stub, db):
    brand_id = new_id()
    data = os.urandom(300_000)
    stored = await upload(media_stub, product_image(brand_id, "hero.png"), data, chunk=100_000)

    key = f"product-images/{brand_id}/hero.png"
    assert stored.key == key
    assert stored.size == len(data)
    assert stored.content_type == "image/png"
    assert stored.checksum_sha256 == hashlib.sha256(data).hexdigest()
    assert stored.version_id
    assert stored.created_at.seconds > 0
    assert media_row(db, key) == (
        len(data),
        "image/png",
        hashlib.sha256(data).hexdigest(),
        stored.version_id,
        uuid.UUID(brand_id),
        None,
    )


async def test_uploading_a_key_again_replaces_its_row(media_stub, db):
    ref = product_image()
    first = await upload(media_stub, ref, b"first")
    second = await upload(media_stub, media_pb2.ObjectRef(key=first.key), b"second version", "image/jpeg")
    assert second.version_id != first.version_id
    assert db.execute("SELECT count(*) FROM media.media_objects WHERE key = %s", (first.key,)).fetchone() == (
        1,
    )
    size, content_type, checksum, *_ = media_row(db, first.key)
    assert (size, content_type, checksum) == (14, "image/jpeg", hashlib.sha256(b"second version").hexdigest())


async def test_large_upload_goes_in_parts_with_the_right_checksum(media_stub, db, s3):
    project_id, generation_id = new_id(), new_id()
    data = os.urandom(20 * MIB)
    ref = media_pb2.ObjectRef(
        final_video=media_pb2.FinalVideo(project_id=project_id, generation_id=generation_id)
    )
    stored = await upload(media_stub, ref, data, "video/mp4", chunk=MIB, expected_size=len(data))

    assert stored.key == f"generated-videos/{project_id}/{generation_id}/final_ad.mp4"
    assert stored.size == 20 * MIB
    assert stored.checksum_sha256 == hashlib.sha256(data).hexdigest()
    size, _, checksum, _, brand_id, ad_project_id = media_row(db, stored.key)
    assert (size, checksum, brand_id, ad_project_id) == (
        20 * MIB,
        stored.checksum_sha256,
        None,
        uuid.UUID(project_id),
    )
    # S3 reports a multipart ETag ("<md5 of part md5s>-<parts>"): 8 MiB parts make three.
    assert s3.head(stored.key).headers["etag"].strip('"').endswith("-3")
    assert incomplete_uploads(s3, stored.key) == []


async def test_an_empty_object_can_be_uploaded(media_stub):
    stored = await upload(media_stub, product_image(name="empty.txt"), b"", "text/plain")
    assert (stored.size, stored.checksum_sha256) == (0, hashlib.sha256(b"").hexdigest())


@pytest.mark.parametrize(
    "sent,expected", [(1000, 1001), (1001, 1000), (9 * MIB, 10 * MIB), (9 * MIB, 8 * MIB)]
)
async def test_a_size_other_than_expected_stores_nothing(media_stub, db, s3, sent, expected):
    ref = product_image()
    err = await rpc_error(upload(media_stub, ref, os.urandom(sent), chunk=MIB, expected_size=expected))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "expected_size" in err.details()
    assert not (await media_stub.ObjectExists(media_pb2.ObjectRequest(ref=ref))).exists
    key = f"product-images/{ref.product_image.brand_id}/{ref.product_image.name}"
    assert media_row(db, key) is None
    assert versions_of(s3, key) == []
    assert incomplete_uploads(s3, key) == []


async def test_a_client_that_goes_away_mid_upload_leaves_no_multipart_upload_behind(media_stub, s3):
    ref = product_image(name="abandoned.bin")
    key = f"product-images/{ref.product_image.brand_id}/abandoned.bin"
    hang = asyncio.Event()

    async def messages():
        yield media_pb2.UploadObjectRequest(
            header=media_pb2.UploadHeader(ref=ref, content_type="application/octet-stream")
        )
        for _ in range(9):
            yield media_pb2.UploadObjectRequest(chunk=os.urandom(MIB))
        await hang.wait()  # the client stalls, then gives up

    call = media_stub.UploadObject(messages(), timeout=60)
    waiting = asyncio.ensure_future(call)  # collects the outcome, so no error goes unretrieved
    await _poll(lambda: incomplete_uploads(s3, key) != [], "the first part to be uploaded")
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await _poll(lambda: incomplete_uploads(s3, key) == [], "the multipart upload to be aborted")
    assert versions_of(s3, key) == []


async def test_a_stream_that_ends_without_finish_stores_nothing(media_stub, s3):
    ref = product_image(name="torso.png")
    key = f"product-images/{ref.product_image.brand_id}/torso.png"

    for size in (1024, 9 * MIB):  # a single PUT, and a multipart upload

        async def messages(size=size):
            yield media_pb2.UploadObjectRequest(
                header=media_pb2.UploadHeader(ref=ref, content_type="image/png")
            )
            for _ in range(0, size, MIB):
                yield media_pb2.UploadObjectRequest(chunk=b"\0" * min(MIB, size))

        err = await rpc_error(media_stub.UploadObject(messages(), timeout=30))
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "finish" in err.details()
        assert versions_of(s3, key) == [] and incomplete_uploads(s3, key) == []


async def test_the_header_must_come_first_and_be_complete(media_stub):
    header = media_pb2.UploadObjectRequest(
        header=media_pb2.UploadHeader(ref=product_image(), content_type="image/png")
    )
    chunk = media_pb2.UploadObjectRequest(chunk=b"bytes")
    no_type = media_pb2.UploadObjectRequest(header=media_pb2.UploadHeader(ref=product_image()))
    no_ref = media_pb2.UploadObjectRequest(header=media_pb2.UploadHeader(content_type="image/png"))
    bad_type = media_pb2.UploadObjectRequest(
        header=media_pb2.UploadHeader(ref=product_image(), content_type="not a type")
    )
    for messages, words in [
        ([], "header"),
        ([chunk, header], "header"),
        ([no_type, chunk], "content_type"),
        ([bad_type, chunk], "content_type"),
        ([no_ref, chunk], "ref"),
        ([header, chunk, header], "header"),
    ]:

        async def stream(messages=messages):
            for message in messages:
                yield message

        err = await rpc_error(media_stub.UploadObject(stream(), timeout=10))
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, messages
        assert words in err.details()


# --- keys ----------------------------------------------------------------------------------------

BAD_REFS = [
    media_pb2.ObjectRef(key="../x"),
    media_pb2.ObjectRef(key="/abs"),
    media_pb2.ObjectRef(key="other-prefix/x"),
    media_pb2.ObjectRef(key=f"product-images/{uuid.uuid4()}/a\x01b.png"),
    media_pb2.ObjectRef(key="product-images/not-a-uuid/a.png"),
    media_pb2.ObjectRef(key=f"product-images/{uuid.uuid4()}/../../x.png"),
    media_pb2.ObjectRef(final_video=media_pb2.FinalVideo(project_id="42", generation_id=str(uuid.uuid4()))),
    # A generation's output without its generation id (the layout before generation ids).
    media_pb2.ObjectRef(final_video=media_pb2.FinalVideo(project_id=str(uuid.uuid4()))),
    media_pb2.ObjectRef(
        scene_video=media_pb2.SceneVideo(project_id=str(uuid.uuid4()), generation_id="42", n=1)
    ),
    media_pb2.ObjectRef(product_image=media_pb2.ProductImage(brand_id=str(uuid.uuid4()), name="../x")),
    media_pb2.ObjectRef(
        audio=media_pb2.AudioTrack(
            project_id=str(uuid.uuid4()), generation_id=str(uuid.uuid4()), type="Bad Type", n=1
        )
    ),
    media_pb2.ObjectRef(),
]


@pytest.mark.parametrize("ref", BAD_REFS, ids=lambda r: str(r).strip() or "empty")
async def test_bad_keys_are_invalid_argument(media_stub, ref):
    for call in (
        media_stub.ObjectExists(media_pb2.ObjectRequest(ref=ref)),
        media_stub.DeleteObject(media_pb2.ObjectRequest(ref=ref)),
        media_stub.PresignDownload(media_pb2.PresignDownloadRequest(ref=ref)),
        upload(media_stub, ref, b"data"),
    ):
        err = await rpc_error(call)
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert err.details()


# --- presigned URLs ------------------------------------------------------------------------------


async def test_presigned_download_returns_exactly_the_bytes(media_stub):
    data = os.urandom(50_000)
    stored = await upload(media_stub, product_image(), data)
    before = time.time()
    reply = await media_stub.PresignDownload(
        media_pb2.PresignDownloadRequest(ref=media_pb2.ObjectRef(key=stored.key))
    )
    assert parse_qs(urlsplit(reply.url).query)["X-Amz-Expires"] == ["3600"]
    assert 3500 < reply.expires_at.seconds - before < 3700
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(reply.url)
    assert response.status_code == 200
    assert response.content == data


async def test_presigned_download_expiry_limits(media_stub):
    stored = await upload(media_stub, product_image(), b"x")
    ref = media_pb2.ObjectRef(key=stored.key)
    week = await media_stub.PresignDownload(media_pb2.PresignDownloadRequest(ref=ref, expires_in_s=604800))
    assert parse_qs(urlsplit(week.url).query)["X-Amz-Expires"] == ["604800"]
    err = await rpc_error(
        media_stub.PresignDownload(media_pb2.PresignDownloadRequest(ref=ref, expires_in_s=604801))
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "7 days" in err.details()


async def test_presigned_download_of_a_missing_object_is_not_found(media_stub):
    err = await rpc_error(media_stub.PresignDownload(media_pb2.PresignDownloadRequest(ref=product_image())))
    assert err.code() == grpc.StatusCode.NOT_FOUND


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


async def test_presigned_upload_goes_to_a_staging_key_and_confirm_copies_it(media_stub, db, s3):
    brand_id = new_id()
    ref = media_pb2.ObjectRef(brand_asset=media_pb2.BrandAsset(brand_id=brand_id, name="guide.pdf"))
    data = b"%PDF-1.7\n" + os.urandom(5000)
    put = await presign(media_stub, ref, data, "application/pdf")
    assert put.method == "PUT"
    assert put.key == f"brand-assets/{brand_id}/guide.pdf"
    assert dict(put.headers) == {"Content-Type": "application/pdf", "Content-Length": str(len(data))}
    staging = f"incoming/brand-assets/{brand_id}/guide.pdf"
    assert urlsplit(put.url).path.endswith(f"/{staging}")  # the URL writes the staging key only
    query = parse_qs(urlsplit(put.url).query)
    assert query["X-Amz-Expires"] == ["900"]
    assert query["X-Amz-SignedHeaders"] == ["content-length;content-type;host"]
    assert media_row(db, put.key) is None  # nothing recorded before the confirmation

    await put_presigned(put, data)
    assert versions_of(s3, put.key) == []
    stored = await confirm(media_stub, ref, data, "application/pdf")
    assert (stored.key, stored.size, stored.content_type, stored.checksum_sha256, stored.stored_now) == (
        put.key,
        len(data),
        "application/pdf",
        "",
        True,
    )
    assert media_row(db, put.key) == (
        len(data),
        "application/pdf",
        None,
        stored.version_id,
        uuid.UUID(brand_id),
        None,
    )
    # One version at the file's key (the copy, stored with the checked type), nothing left in staging.
    assert versions_of(s3, put.key) == [stored.version_id]
    assert versions_of(s3, staging) == []
    assert s3.head(put.key).headers["content-type"] == "application/pdf"
    assert (await presigned_get(media_stub, put.key)).content == data


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b"<html><script>alert(1)</script></html>", "image/png"),
        (b"GIF89a" + b"\x00" * 40, "image/webp"),
        (PNG + b"\x00" * 40, "image/jpeg"),
        (b"MZ\x90\x00" + b"\x00" * 40, "application/pdf"),
        (b"\x89P", "image/png"),  # shorter than the signature
    ],
)
async def test_confirm_refuses_content_that_is_not_its_type_and_keeps_nothing(
    media_stub, db, s3, data, content_type
):
    ref = product_image()
    put = await presign(media_stub, ref, data, content_type)
    await put_presigned(put, data)
    staging = "incoming/" + put.key
    assert len(versions_of(s3, staging)) == 1

    err = await rpc_error(confirm(media_stub, ref, data, content_type))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert err.details() == f"the file's content is not {content_type}"
    assert versions_of(s3, staging) == []
    assert versions_of(s3, put.key) == []
    assert media_row(db, put.key) is None


async def test_a_put_after_confirm_changes_nothing_and_confirming_again_is_harmless(media_stub, db, s3):
    ref = product_image()
    data = png_bytes()
    put = await presign(media_stub, ref, data)
    await put_presigned(put, data)
    first = await confirm(media_stub, ref, data)

    # The URL still works until it expires: a second PUT lands in staging again...
    await put_presigned(put, b"<html>swapped</html>".ljust(len(data)))
    assert (await presigned_get(media_stub, put.key)).content == data
    # ...and confirming again answers the file recorded the first time, dropping that PUT.
    again = await confirm(media_stub, ref, data)
    assert (again.key, again.version_id, again.stored_now) == (first.key, first.version_id, False)
    assert versions_of(s3, put.key) == [first.version_id]
    assert versions_of(s3, "incoming/" + put.key) == []
    assert media_row(db, put.key)[3] == first.version_id
    assert (await presigned_get(media_stub, put.key)).content == data
    # Once more with nothing in staging at all: the same answer.
    assert (await confirm(media_stub, ref, data)).version_id == first.version_id


async def test_confirm_never_touches_a_file_recorded_as_something_else(media_stub, db, s3):
    """A confirm naming a key that holds a file already (streamed, or confirmed earlier) with
    another size or type is refused, and that file stays exactly as it was."""
    ref = product_image()
    data = png_bytes(500)
    stored = await upload(media_stub, ref, data)
    for size, content_type in ((len(data) + 1, "image/png"), (len(data), "image/jpeg")):
        err = await rpc_error(
            media_stub.ConfirmUpload(
                media_pb2.ConfirmUploadRequest(ref=ref, content_type=content_type, size=size)
            )
        )
        assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "nothing was changed" in err.details()
    assert versions_of(s3, stored.key) == [stored.version_id]
    assert media_row(db, stored.key)[:4] == (
        len(data),
        "image/png",
        stored.checksum_sha256,
        stored.version_id,
    )
    assert (await presigned_get(media_stub, stored.key)).content == data


async def test_confirming_a_wrong_size_removes_the_upload(media_stub, db, s3):
    ref = product_image()
    put = await presign(media_stub, ref, png_bytes(10))
    staging = "incoming/" + put.key
    # Real S3 refuses a PUT of another length through the URL; a direct write plays a store that doesn't.
    s3.put(staging, content=png_bytes(11), headers={"Content-Type": "image/png"}).raise_for_status()

    err = await rpc_error(confirm(media_stub, ref, png_bytes(10)))
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "size is 11 bytes, expected 10" in err.details()
    assert versions_of(s3, staging) == []
    assert not (await media_stub.ObjectExists(media_pb2.ObjectRequest(ref=ref))).exists
    assert media_row(db, put.key) is None


async def test_confirming_a_wrong_content_type_removes_the_upload(media_stub, s3):
    ref = product_image()
    data = png_bytes(100)
    put = await presign(media_stub, ref, data)
    await put_presigned(put, data, headers={**dict(put.headers), "Content-Type": "image/jpeg"})
    err = await rpc_error(confirm(media_stub, ref, data))
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "content type" in err.details()
    assert versions_of(s3, "incoming/" + put.key) == []
    assert not (await media_stub.ObjectExists(media_pb2.ObjectRequest(ref=ref))).exists


async def test_confirming_a_missing_upload_is_not_found(media_stub):
    err = await rpc_error(
        media_stub.ConfirmUpload(
            media_pb2.ConfirmUploadRequest(ref=product_image(), content_type="image/png", size=3)
        )
    )
    assert err.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize(
    "ref,size,max_size,content_type,words",
    [
        (product_image(), 0, 100, "image/png", "size"),
        (product_image(), 101, 100, "image/png", "size"),
        (product_image(), 10, 0, "image/png", "max_size"),
        (product_image(), 10, 6 * 1024 * MIB, "image/png", "max_size"),
        (product_image(), 10, 100, "", "content_type"),
        (product_image(), 10, 100, "image/svg+xml", "content media checks"),
        (product_image(), 10, 100, "text/html", "content media checks"),
        (
            media_pb2.ObjectRef(
                final_video=media_pb2.FinalVideo(project_id=new_id(), generation_id=new_id())
            ),
            10,
            100,
            "image/png",
            "product images and brand assets only",
        ),  # fmt: skip
        (
            media_pb2.ObjectRef(key=f"incoming/product-images/{new_id()}/a.png"),
            10,
            100,
            "image/png",
            "product images and brand assets only",
        ),  # fmt: skip
    ],
)
async def test_presigned_upload_limits(media_stub, ref, size, max_size, content_type, words):
    err = await rpc_error(
        media_stub.PresignUpload(
            media_pb2.PresignUploadRequest(ref=ref, content_type=content_type, size=size, max_size=max_size)
        )
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert words in err.details()


# --- what downloads carry ------------------------------------------------------------------------


async def test_a_download_is_the_recorded_version_with_the_recorded_type(media_stub, s3):
    """Whatever else writes the key afterwards (here a direct write, as nothing of ours would),
    a URL signed for it serves the bytes and type media recorded."""
    ref = product_image()
    data = png_bytes()
    stored = await upload(media_stub, ref, data)
    s3.put(
        stored.key, content=b"<html>other</html>", headers={"Content-Type": "text/html"}
    ).raise_for_status()

    reply = await media_stub.PresignDownload(media_pb2.PresignDownloadRequest(ref=ref))
    assert parse_qs(urlsplit(reply.url).query)["versionId"] == [stored.version_id]
    response = await fetch(reply.url)
    assert response.content == data
    assert response.headers["content-type"] == "image/png"
    assert "content-disposition" not in response.headers
    twice = await media_stub.PresignDownloads(media_pb2.PresignDownloadsRequest(refs=[ref, ref]))
    for signed in twice.urls:
        assert (await fetch(signed.url)).content == data


async def test_what_is_not_an_image_or_a_video_downloads_as_an_attachment(media_stub, s3):
    brand_id, project_id = new_id(), new_id()
    inline = {
        f"product-images/{brand_id}/a.png": "image/png",
        f"product-images/{brand_id}/b.webp": "image/webp",
        f"scene-videos/{project_id}/scene_1.mp4": "video/mp4",
    }
    attached = {
        f"brand-assets/{brand_id}/guide.pdf": "application/pdf",
        f"brand-assets/{brand_id}/logo.svg": "image/svg+xml",  # an image that can hold scripts
        f"audio/{project_id}/voiceover_1.mp3": "audio/mpeg",
    }
    for key, content_type in (inline | attached).items():
        await upload(media_stub, media_pb2.ObjectRef(key=key), b"bytes of " + key.encode(), content_type)
    unrecorded = f"brand-assets/{brand_id}/unrecorded.png"
    s3.put(unrecorded, content=b"no row", headers={"Content-Type": "image/png"}).raise_for_status()

    keys = [*inline, *attached, unrecorded]
    reply = await media_stub.PresignDownloads(
        media_pb2.PresignDownloadsRequest(refs=[media_pb2.ObjectRef(key=k) for k in keys])
    )
    for key, signed in zip(keys, reply.urls, strict=True):
        response = await fetch(signed.url)
        disposition = response.headers.get("content-disposition")
        if key in inline:
            assert (response.headers["content-type"], disposition) == (inline[key], None), key
            assert response.content == b"bytes of " + key.encode()
        elif key in attached:
            assert response.headers["content-type"] == attached[key], key
            assert disposition == f'attachment; filename="{key.rsplit("/", 1)[1]}"', key
        else:  # no row says what it is: saved, never shown
            assert disposition == 'attachment; filename="unrecorded.png"'


# --- exists, delete, list ------------------------------------------------------------------------


async def test_exists(media_stub):
    ref = product_image()
    assert not (await media_stub.ObjectExists(media_pb2.ObjectRequest(ref=ref))).exists
    await upload(media_stub, ref, b"12345", "image/webp")
    reply = await media_stub.ObjectExists(media_pb2.ObjectRequest(ref=ref))
    assert (reply.exists, reply.size, reply.content_type) == (True, 5, "image/webp")


async def test_delete_removes_every_version_and_the_row(media_stub, db, s3):
    project_id, generation_id = new_id(), new_id()
    ref = media_pb2.ObjectRef(
        scene_video=media_pb2.SceneVideo(project_id=project_id, generation_id=generation_id, n=1)
    )
    neighbour = media_pb2.ObjectRef(key=f"scene-videos/{project_id}/{generation_id}/scene_10.mp4")
    # The same scene of another generation of the project.
    other_generation = media_pb2.ObjectRef(
        scene_video=media_pb2.SceneVideo(project_id=project_id, generation_id=new_id(), n=1)
    )
    stored = await upload(media_stub, ref, b"version one", "video/mp4")
    await upload(media_stub, ref, b"version two", "video/mp4")
    await upload(media_stub, neighbour, b"another scene", "video/mp4")
    await upload(media_stub, other_generation, b"another generation", "video/mp4")
    assert len(versions_of(s3, stored.key)) == 2

    reply = await media_stub.DeleteObject(media_pb2.ObjectRequest(ref=ref))
    assert reply.deleted
    assert not (await media_stub.ObjectExists(media_pb2.ObjectRequest(ref=ref))).exists
    assert media_row(db, stored.key) is None
    assert versions_of(s3, stored.key) == []
    # A key that merely starts with the same characters is untouched, and so is another generation's.
    assert (await media_stub.ObjectExists(media_pb2.ObjectRequest(ref=neighbour))).exists
    assert (await media_stub.ObjectExists(media_pb2.ObjectRequest(ref=other_generation))).exists

    again = await media_stub.DeleteObject(media_pb2.ObjectRequest(ref=ref))
    assert not again.deleted


async def test_list_by_prefix_pages_through_everything(media_stub):
    brand_id = new_id()
    names = ["a.png", "b.png", "c.png"]
    for name in names:
        await upload(media_stub, product_image(brand_id, name), name.encode())
    prefix = f"product-images/{brand_id}/"

    first = await media_stub.ListObjects(media_pb2.ListObjectsRequest(prefix=prefix, limit=2))
    assert [o.key for o in first.objects] == [prefix + "a.png", prefix + "b.png"]
    assert first.next_page_token
    second = await media_stub.ListObjects(
        media_pb2.ListObjectsRequest(prefix=prefix, limit=2, page_token=first.next_page_token)
    )
    assert [o.key for o in second.objects] == [prefix + "c.png"]
    assert second.next_page_token == ""

    whole = await media_stub.ListObjects(media_pb2.ListObjectsRequest(prefix=prefix))
    assert [(o.size, o.content_type, o.checksum_sha256) for o in whole.objects] == [
        (5, "image/png", hashlib.sha256(n.encode()).hexdigest()) for n in names
    ]


async def test_listing_leaves_out_the_prefix_markers(media_stub):
    reply = await media_stub.ListObjects(media_pb2.ListObjectsRequest(prefix="brand-assets/", limit=1000))
    assert "brand-assets/" not in [o.key for o in reply.objects]


@pytest.mark.parametrize(
    "prefix,limit",
    [("", 0), ("other/", 0), ("../", 0), ("/product-images/", 0), ("audio/\x00", 0), ("audio/", 1001)],
)
async def test_bad_listings_are_invalid_argument(media_stub, prefix, limit):
    err = await rpc_error(media_stub.ListObjects(media_pb2.ListObjectsRequest(prefix=prefix, limit=limit)))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT


# --- start-up ------------------------------------------------------------------------------------


def run_media(stack, **overrides) -> subprocess.CompletedProcess:
    env = stack.app_env()
    env["MEDIA_PORT"] = str(free_port())
    env.update(overrides)
    return subprocess.run(
        [sys.executable, "-m", "services.media"],
        env=env,
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_media_gives_up_on_an_unreachable_s3_with_one_line(stack):
    dead_endpoint = f"http://127.0.0.1:{free_port()}"
    result = run_media(stack, AWS_S3_ENDPOINT_URL=dead_endpoint, S3_STARTUP_TIMEOUT_S="1")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "cannot prepare bucket" in lines[0] and dead_endpoint in lines[0] and "s3 unavailable" in lines[0]


def test_half_configured_credentials_stop_media_at_start(stack):
    # Empty counts as unset (and, unlike a missing variable, also wins over a developer's .env).
    result = run_media(stack, AWS_SECRET_ACCESS_KEY="")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "configuration error: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together"
    )


async def test_presigned_urls_use_the_public_endpoint(stack, media_stub):
    """Compose: media reaches MinIO as minio:9000 while clients reach it as localhost:9000."""
    data = b"seen through the public endpoint"
    stored = await upload(media_stub, product_image(), data)
    public = f"http://localhost:{stack.ports.s3}"
    port = free_port()
    env = stack.app_env() | {
        "MEDIA_PORT": str(port),
        "AWS_S3_PUBLIC_ENDPOINT_URL": public,
        "MIGRATE_ON_START": "true",  # already at head: upgrading again is a no-op
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "services.media"],
        env=env,
        cwd=Path(__file__).resolve().parents[1],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    channel = open_channel(f"127.0.0.1:{port}", env["INTERNAL_TOKEN"])
    try:
        await asyncio.to_thread(wait_for_port, port, 60)
        reply = await media_pb2_grpc.MediaStub(channel).PresignDownload(
            media_pb2.PresignDownloadRequest(ref=media_pb2.ObjectRef(key=stored.key))
        )
    finally:
        await channel.close()
        process.terminate()
        process.wait(timeout=30)
    assert reply.url.startswith(f"{public}/{env['AWS_S3_BUCKET']}/{stored.key}?")
    async with httpx.AsyncClient(timeout=10) as client:
        assert (await client.get(reply.url)).content == data


# --- S3 down (last: restarting moto empties it, and media is restarted to set the bucket up) -----


async def test_s3_down_is_unavailable_quickly(stack, media_stub, grpc_channel):
    stack.stop_backing_server("s3")
    try:
        # Well inside the deadline, media answers UNAVAILABLE rather than the call timing out.
        err = await rpc_error(
            media_stub.ObjectExists(media_pb2.ObjectRequest(ref=product_image()), timeout=8)
        )
        assert err.code() == grpc.StatusCode.UNAVAILABLE
        assert "s3 unavailable" in err.details()

        err = await rpc_error(upload(media_stub, product_image(), b"bytes"))
        assert err.code() == grpc.StatusCode.UNAVAILABLE

        deps = await media_stub.CheckDependencies(dependencies_pb2.CheckDependenciesRequest(), timeout=8)
        status = {d.name: d for d in deps.dependencies}
        assert status["postgres"].ok
        assert not status["s3"].ok
        assert status["s3"].detail
    finally:
        stack.restart_backing_server("s3")
        stack.stop_app("media")
        stack.start_app("media")
    await _wait_serving(grpc_channel("media"))
    stored = await upload(media_stub, product_image(), b"after the restart")
    assert stored.size == len(b"after the restart")


async def _poll(condition, what: str, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        await asyncio.sleep(0.1)


async def _wait_serving(channel, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    stub = health_pb2_grpc.HealthStub(channel)
    while True:
        try:
            reply = await stub.Check(health_pb2.HealthCheckRequest(service="media"), timeout=1)
            if reply.status == health_pb2.HealthCheckResponse.SERVING:
                return
        except grpc.aio.AioRpcError:
            if time.monotonic() > deadline:
                raise
        await asyncio.sleep(0.2)
