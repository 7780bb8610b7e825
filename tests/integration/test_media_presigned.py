"""Presigned URLs from the media service as a real process against moto's S3 server and PostgreSQL:
downloads, uploads to a staging key that confirm checks and copies, and what a download carries.

S3 is inspected over moto's HTTP API with httpx: only services/media may import boto3.
"""

import os
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import grpc
import httpx
import pytest

from tests.support.brand_kit import SVG_LOGO, SVG_WITH_SCRIPT
from tests.support.media import (
    MIB,
    PNG,
    confirm,
    fetch,
    media_row,
    new_id,
    png_bytes,
    presign,
    presigned_get,
    product_image,
    put_presigned,
    rpc_error,
    upload,
    versions_of,
)
from zapcut.media.v1 import media_pb2

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


async def test_an_svg_is_confirmed_only_as_a_logo_read_whole(media_stub, db, s3):
    """Its first bytes vouch for nothing: media takes an SVG only with the logo check, which reads
    the whole staged file (services/common/logo.py) and removes it when it is no logo."""
    brand_id = new_id()
    for data, check, words in [
        (SVG_LOGO, "", "only as a logo"),
        (SVG_WITH_SCRIPT, "logo", "must not contain <script>"),
        (b"<svg>" + b" " * 100 + b"<image href='https://x.example/a.png'/></svg>", "logo", "reference"),
    ]:
        ref = media_pb2.ObjectRef(
            brand_asset=media_pb2.BrandAsset(brand_id=brand_id, name=f"{uuid.uuid4().hex}.svg")
        )
        put = await presign(media_stub, ref, data, "image/svg+xml")
        await put_presigned(put, data)
        request = media_pb2.ConfirmUploadRequest(
            ref=ref, content_type="image/svg+xml", size=len(data), check=check
        )
        err = await rpc_error(media_stub.ConfirmUpload(request))
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and words in err.details(), err.details()
        assert media_row(db, put.key) is None
        if check:
            assert versions_of(s3, "incoming/" + put.key) == []

    ref = media_pb2.ObjectRef(brand_asset=media_pb2.BrandAsset(brand_id=brand_id, name="logo.svg"))
    put = await presign(media_stub, ref, SVG_LOGO, "image/svg+xml")
    await put_presigned(put, SVG_LOGO)
    stored = await media_stub.ConfirmUpload(
        media_pb2.ConfirmUploadRequest(
            ref=ref, content_type="image/svg+xml", size=len(SVG_LOGO), check="logo"
        )
    )
    assert (stored.key, stored.size) == (put.key, len(SVG_LOGO))


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
        (product_image(), 10, 100, "image/gif", "content media checks"),
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
