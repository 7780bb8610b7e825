"""gRPC servicer of media: translates between protobuf and the domain modules."""

from __future__ import annotations

from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.db import ping
from services.common.errors import InvalidArgument
from services.common.probes import DependencyCheck
from services.common.timestamps import timestamp
from services.media import keys, objects, presigned
from services.media.records import StoredObject
from services.media.storage import S3Storage
from services.media.uploads import UploadHeader, check_content_type, upload_stream
from zapcut.media.v1 import media_pb2, media_pb2_grpc


def object_key(ref: media_pb2.ObjectRef) -> keys.ObjectKey:
    which = ref.WhichOneof("ref")
    if which == "key":
        return keys.parse_key(ref.key)
    if which == "final_video":
        return keys.final_video(ref.final_video.project_id, ref.final_video.generation_id)
    if which == "generation_file":
        f = ref.generation_file
        return keys.generation_file(f.project_id, f.generation_id, f.name)
    if which == "product_image":
        return keys.product_image(ref.product_image.brand_id, ref.product_image.name)
    if which == "brand_asset":
        return keys.brand_asset(ref.brand_asset.brand_id, ref.brand_asset.name)
    if which == "scene_video":
        scene = ref.scene_video
        return keys.scene_video(scene.project_id, scene.generation_id, scene.n, scene.aspect)
    if which == "audio":
        return keys.audio_track(ref.audio.project_id, ref.audio.generation_id, ref.audio.type, ref.audio.n)
    if which == "voice_sample":
        return keys.voice_sample(ref.voice_sample.name)
    raise InvalidArgument(
        "ref is required: a key, or one of final_video, generation_file, product_image, brand_asset, "
        "scene_video, audio, voice_sample"
    )


def _stored(obj: StoredObject, stored_now: bool = False) -> media_pb2.StoredObject:
    return media_pb2.StoredObject(
        key=obj.key,
        size=obj.size,
        content_type=obj.content_type,
        checksum_sha256=obj.checksum_sha256 or "",
        created_at=timestamp(obj.created_at),
        version_id=obj.version_id or "",
        stored_now=stored_now,
    )


async def _chunks(messages: AsyncIterator[media_pb2.UploadObjectRequest]) -> AsyncIterator[bytes]:
    finished = False
    async for message in messages:
        part = message.WhichOneof("part")
        if finished:
            raise InvalidArgument("nothing may follow finish")
        if part == "finish":
            finished = True
        elif part == "chunk":
            if message.chunk:
                yield message.chunk
        else:
            raise InvalidArgument("only the first message may be the header; then chunks, then finish")
    if not finished:
        # Raised inside the upload, so a multipart upload is aborted and nothing is stored.
        raise InvalidArgument("the stream ended without finish; nothing stored")


MAX_PRESIGN_BATCH = 1000


class MediaServicer(media_pb2_grpc.MediaServicer):
    def __init__(self, engine: AsyncEngine, storage: S3Storage, part_bytes: int, probe_timeout_s: float):
        self.engine = engine
        self.storage = storage
        self.part_bytes = part_bytes
        self.dependencies = DependencyCheck(
            {"postgres": lambda: ping(engine), "s3": storage.head_bucket}, probe_timeout_s
        )

    async def UploadObject(self, request_iterator, context):
        messages = aiter(request_iterator)
        first = await anext(messages, None)
        if first is None or first.WhichOneof("part") != "header":
            raise InvalidArgument("the first message must be the header (ref, content_type)")
        header = first.header
        upload = UploadHeader(
            ref=object_key(header.ref),
            content_type=check_content_type(header.content_type),
            expected_size=header.expected_size or None,
        )
        stored = await upload_stream(self.storage, self.engine, upload, _chunks(messages), self.part_bytes)
        return _stored(stored, stored_now=True)

    async def PresignDownload(self, request, context):
        url = await presigned.presign_download(
            self.storage, self.engine, object_key(request.ref), request.expires_in_s
        )
        return media_pb2.PresignedUrl(url=url.url, expires_at=timestamp(url.expires_at))

    async def PresignDownloads(self, request, context):
        if len(request.refs) > MAX_PRESIGN_BATCH:
            raise InvalidArgument(f"at most {MAX_PRESIGN_BATCH} refs per call")
        urls = await presigned.presign_downloads(
            self.storage, self.engine, [object_key(ref) for ref in request.refs], request.expires_in_s
        )
        return media_pb2.PresignDownloadsResponse(
            urls=[media_pb2.PresignedUrl(url=u.url, expires_at=timestamp(u.expires_at)) for u in urls]
        )

    async def PresignUpload(self, request, context):
        put = await presigned.presign_upload(
            self.storage,
            object_key(request.ref),
            request.content_type,
            request.size,
            request.max_size,
            request.expires_in_s,
        )
        return media_pb2.PresignedUpload(
            url=put.url,
            method=put.method,
            headers=put.headers,
            key=put.key,
            expires_at=timestamp(put.expires_at),
        )

    async def ConfirmUpload(self, request, context):
        confirmed = await presigned.confirm_upload(
            self.storage,
            self.engine,
            object_key(request.ref),
            request.content_type,
            request.size,
            request.check,
        )
        return _stored(confirmed.stored, confirmed.stored_now)

    async def ObjectExists(self, request, context):
        head = await objects.find(self.storage, object_key(request.ref))
        if head is None:
            return media_pb2.ObjectExistsResponse(exists=False)
        return media_pb2.ObjectExistsResponse(exists=True, size=head.size, content_type=head.content_type)

    async def DeleteObject(self, request, context):
        deleted = await objects.delete(self.storage, self.engine, object_key(request.ref))
        return media_pb2.DeleteObjectResponse(deleted=deleted)

    async def ListObjects(self, request, context):
        listing = await objects.list_page(
            self.storage, self.engine, request.prefix, request.limit, request.page_token
        )
        return media_pb2.ListObjectsResponse(
            objects=[_stored(o) for o in listing.objects], next_page_token=listing.next_page_token or ""
        )

    async def CheckDependencies(self, request, context):
        return await self.dependencies()
