"""Streamed uploads to the media service (UploadObject): stored in moto's S3, recorded in PostgreSQL,
and nothing left behind by an upload that goes wrong."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
import uuid

import grpc
import pytest

from tests.support.media import (
    MIB,
    incomplete_uploads,
    media_row,
    new_id,
    product_image,
    rpc_error,
    upload,
    versions_of,
)
from zapcut.media.v1 import media_pb2


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


async def _poll(condition, what: str, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        await asyncio.sleep(0.1)
