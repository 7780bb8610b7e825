import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from zapcut.common.v1 import dependencies_pb2 as _dependencies_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FinalVideo(_message.Message):
    __slots__ = ("project_id", "generation_id")
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    GENERATION_ID_FIELD_NUMBER: _ClassVar[int]
    project_id: str
    generation_id: str
    def __init__(self, project_id: _Optional[str] = ..., generation_id: _Optional[str] = ...) -> None: ...

class ProductImage(_message.Message):
    __slots__ = ("brand_id", "name")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    name: str
    def __init__(self, brand_id: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class BrandAsset(_message.Message):
    __slots__ = ("brand_id", "name")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    name: str
    def __init__(self, brand_id: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class SceneVideo(_message.Message):
    __slots__ = ("project_id", "generation_id", "n")
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    GENERATION_ID_FIELD_NUMBER: _ClassVar[int]
    N_FIELD_NUMBER: _ClassVar[int]
    project_id: str
    generation_id: str
    n: int
    def __init__(self, project_id: _Optional[str] = ..., generation_id: _Optional[str] = ..., n: _Optional[int] = ...) -> None: ...

class AudioTrack(_message.Message):
    __slots__ = ("project_id", "generation_id", "type", "n")
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    GENERATION_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    N_FIELD_NUMBER: _ClassVar[int]
    project_id: str
    generation_id: str
    type: str
    n: int
    def __init__(self, project_id: _Optional[str] = ..., generation_id: _Optional[str] = ..., type: _Optional[str] = ..., n: _Optional[int] = ...) -> None: ...

class ObjectRef(_message.Message):
    __slots__ = ("key", "final_video", "product_image", "brand_asset", "scene_video", "audio")
    KEY_FIELD_NUMBER: _ClassVar[int]
    FINAL_VIDEO_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_IMAGE_FIELD_NUMBER: _ClassVar[int]
    BRAND_ASSET_FIELD_NUMBER: _ClassVar[int]
    SCENE_VIDEO_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    key: str
    final_video: FinalVideo
    product_image: ProductImage
    brand_asset: BrandAsset
    scene_video: SceneVideo
    audio: AudioTrack
    def __init__(self, key: _Optional[str] = ..., final_video: _Optional[_Union[FinalVideo, _Mapping]] = ..., product_image: _Optional[_Union[ProductImage, _Mapping]] = ..., brand_asset: _Optional[_Union[BrandAsset, _Mapping]] = ..., scene_video: _Optional[_Union[SceneVideo, _Mapping]] = ..., audio: _Optional[_Union[AudioTrack, _Mapping]] = ...) -> None: ...

class UploadHeader(_message.Message):
    __slots__ = ("ref", "content_type", "expected_size")
    REF_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_SIZE_FIELD_NUMBER: _ClassVar[int]
    ref: ObjectRef
    content_type: str
    expected_size: int
    def __init__(self, ref: _Optional[_Union[ObjectRef, _Mapping]] = ..., content_type: _Optional[str] = ..., expected_size: _Optional[int] = ...) -> None: ...

class UploadFinish(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class UploadObjectRequest(_message.Message):
    __slots__ = ("header", "chunk", "finish")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    FINISH_FIELD_NUMBER: _ClassVar[int]
    header: UploadHeader
    chunk: bytes
    finish: UploadFinish
    def __init__(self, header: _Optional[_Union[UploadHeader, _Mapping]] = ..., chunk: _Optional[bytes] = ..., finish: _Optional[_Union[UploadFinish, _Mapping]] = ...) -> None: ...

class StoredObject(_message.Message):
    __slots__ = ("key", "size", "content_type", "checksum_sha256", "created_at", "version_id", "stored_now")
    KEY_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    CHECKSUM_SHA256_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    VERSION_ID_FIELD_NUMBER: _ClassVar[int]
    STORED_NOW_FIELD_NUMBER: _ClassVar[int]
    key: str
    size: int
    content_type: str
    checksum_sha256: str
    created_at: _timestamp_pb2.Timestamp
    version_id: str
    stored_now: bool
    def __init__(self, key: _Optional[str] = ..., size: _Optional[int] = ..., content_type: _Optional[str] = ..., checksum_sha256: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., version_id: _Optional[str] = ..., stored_now: _Optional[bool] = ...) -> None: ...

class PresignDownloadRequest(_message.Message):
    __slots__ = ("ref", "expires_in_s")
    REF_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_IN_S_FIELD_NUMBER: _ClassVar[int]
    ref: ObjectRef
    expires_in_s: int
    def __init__(self, ref: _Optional[_Union[ObjectRef, _Mapping]] = ..., expires_in_s: _Optional[int] = ...) -> None: ...

class PresignDownloadsRequest(_message.Message):
    __slots__ = ("refs", "expires_in_s")
    REFS_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_IN_S_FIELD_NUMBER: _ClassVar[int]
    refs: _containers.RepeatedCompositeFieldContainer[ObjectRef]
    expires_in_s: int
    def __init__(self, refs: _Optional[_Iterable[_Union[ObjectRef, _Mapping]]] = ..., expires_in_s: _Optional[int] = ...) -> None: ...

class PresignDownloadsResponse(_message.Message):
    __slots__ = ("urls",)
    URLS_FIELD_NUMBER: _ClassVar[int]
    urls: _containers.RepeatedCompositeFieldContainer[PresignedUrl]
    def __init__(self, urls: _Optional[_Iterable[_Union[PresignedUrl, _Mapping]]] = ...) -> None: ...

class PresignedUrl(_message.Message):
    __slots__ = ("url", "expires_at")
    URL_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    url: str
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, url: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PresignUploadRequest(_message.Message):
    __slots__ = ("ref", "content_type", "size", "max_size", "expires_in_s")
    REF_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    MAX_SIZE_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_IN_S_FIELD_NUMBER: _ClassVar[int]
    ref: ObjectRef
    content_type: str
    size: int
    max_size: int
    expires_in_s: int
    def __init__(self, ref: _Optional[_Union[ObjectRef, _Mapping]] = ..., content_type: _Optional[str] = ..., size: _Optional[int] = ..., max_size: _Optional[int] = ..., expires_in_s: _Optional[int] = ...) -> None: ...

class PresignedUpload(_message.Message):
    __slots__ = ("url", "method", "headers", "key", "expires_at")
    class HeadersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    URL_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    url: str
    method: str
    headers: _containers.ScalarMap[str, str]
    key: str
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, url: _Optional[str] = ..., method: _Optional[str] = ..., headers: _Optional[_Mapping[str, str]] = ..., key: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ConfirmUploadRequest(_message.Message):
    __slots__ = ("ref", "content_type", "size")
    REF_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    ref: ObjectRef
    content_type: str
    size: int
    def __init__(self, ref: _Optional[_Union[ObjectRef, _Mapping]] = ..., content_type: _Optional[str] = ..., size: _Optional[int] = ...) -> None: ...

class ObjectRequest(_message.Message):
    __slots__ = ("ref",)
    REF_FIELD_NUMBER: _ClassVar[int]
    ref: ObjectRef
    def __init__(self, ref: _Optional[_Union[ObjectRef, _Mapping]] = ...) -> None: ...

class ObjectExistsResponse(_message.Message):
    __slots__ = ("exists", "size", "content_type")
    EXISTS_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    exists: bool
    size: int
    content_type: str
    def __init__(self, exists: _Optional[bool] = ..., size: _Optional[int] = ..., content_type: _Optional[str] = ...) -> None: ...

class DeleteObjectResponse(_message.Message):
    __slots__ = ("deleted",)
    DELETED_FIELD_NUMBER: _ClassVar[int]
    deleted: bool
    def __init__(self, deleted: _Optional[bool] = ...) -> None: ...

class ListObjectsRequest(_message.Message):
    __slots__ = ("prefix", "limit", "page_token")
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    prefix: str
    limit: int
    page_token: str
    def __init__(self, prefix: _Optional[str] = ..., limit: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListObjectsResponse(_message.Message):
    __slots__ = ("objects", "next_page_token")
    OBJECTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    objects: _containers.RepeatedCompositeFieldContainer[StoredObject]
    next_page_token: str
    def __init__(self, objects: _Optional[_Iterable[_Union[StoredObject, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
