"""Objects in the media service: keys it refuses, and what exists, is deleted and is listed."""

from __future__ import annotations

import hashlib

import grpc
import pytest

from tests.support.media import media_row, new_id, product_image, rpc_error, upload, versions_of
from zapcut.media.v1 import media_pb2

# A fixed id: test ids must be the same in every pytest-xdist worker's collection.
ID = "6f1c8e0b-3f57-4a3e-9d2a-4c1f7a9e8b10"
BAD_REFS = [
    media_pb2.ObjectRef(key="../x"),
    media_pb2.ObjectRef(key="/abs"),
    media_pb2.ObjectRef(key="other-prefix/x"),
    media_pb2.ObjectRef(key=f"product-images/{ID}/a\x01b.png"),
    media_pb2.ObjectRef(key="product-images/not-a-uuid/a.png"),
    media_pb2.ObjectRef(key=f"product-images/{ID}/../../x.png"),
    media_pb2.ObjectRef(final_video=media_pb2.FinalVideo(project_id="42", generation_id=ID)),
    # A generation's output without its generation id (the layout before generation ids).
    media_pb2.ObjectRef(final_video=media_pb2.FinalVideo(project_id=ID)),
    media_pb2.ObjectRef(scene_video=media_pb2.SceneVideo(project_id=ID, generation_id="42", n=1)),
    media_pb2.ObjectRef(product_image=media_pb2.ProductImage(brand_id=ID, name="../x")),
    media_pb2.ObjectRef(audio=media_pb2.AudioTrack(project_id=ID, generation_id=ID, type="Bad Type", n=1)),
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
