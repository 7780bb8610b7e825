import datetime

from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from zapcut.common.v1 import dependencies_pb2 as _dependencies_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class User(_message.Message):
    __slots__ = ("id", "email", "name", "subscription_tier", "credits", "free_videos_used", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_TIER_FIELD_NUMBER: _ClassVar[int]
    CREDITS_FIELD_NUMBER: _ClassVar[int]
    FREE_VIDEOS_USED_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    email: str
    name: str
    subscription_tier: str
    credits: int
    free_videos_used: int
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., email: _Optional[str] = ..., name: _Optional[str] = ..., subscription_tier: _Optional[str] = ..., credits: _Optional[int] = ..., free_videos_used: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SignUpRequest(_message.Message):
    __slots__ = ("email", "name", "password", "client_ip")
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    CLIENT_IP_FIELD_NUMBER: _ClassVar[int]
    email: str
    name: str
    password: str
    client_ip: str
    def __init__(self, email: _Optional[str] = ..., name: _Optional[str] = ..., password: _Optional[str] = ..., client_ip: _Optional[str] = ...) -> None: ...

class LogInRequest(_message.Message):
    __slots__ = ("email", "password", "client_ip")
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    CLIENT_IP_FIELD_NUMBER: _ClassVar[int]
    email: str
    password: str
    client_ip: str
    def __init__(self, email: _Optional[str] = ..., password: _Optional[str] = ..., client_ip: _Optional[str] = ...) -> None: ...

class Session(_message.Message):
    __slots__ = ("access_token", "expires_at", "user")
    ACCESS_TOKEN_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    access_token: str
    expires_at: _timestamp_pb2.Timestamp
    user: User
    def __init__(self, access_token: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., user: _Optional[_Union[User, _Mapping]] = ...) -> None: ...

class AuthenticateRequest(_message.Message):
    __slots__ = ("token",)
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: str
    def __init__(self, token: _Optional[str] = ...) -> None: ...

class AuthenticatedUser(_message.Message):
    __slots__ = ("user", "session_id", "expires_at")
    USER_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    user: User
    session_id: str
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, user: _Optional[_Union[User, _Mapping]] = ..., session_id: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class LogOutRequest(_message.Message):
    __slots__ = ("token",)
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: str
    def __init__(self, token: _Optional[str] = ...) -> None: ...

class UpdateMeRequest(_message.Message):
    __slots__ = ("name", "new_password", "current_password", "token", "client_ip")
    NAME_FIELD_NUMBER: _ClassVar[int]
    NEW_PASSWORD_FIELD_NUMBER: _ClassVar[int]
    CURRENT_PASSWORD_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    CLIENT_IP_FIELD_NUMBER: _ClassVar[int]
    name: str
    new_password: str
    current_password: str
    token: str
    client_ip: str
    def __init__(self, name: _Optional[str] = ..., new_password: _Optional[str] = ..., current_password: _Optional[str] = ..., token: _Optional[str] = ..., client_ip: _Optional[str] = ...) -> None: ...

class BrandFile(_message.Message):
    __slots__ = ("key", "filename", "content_type", "size", "added_at")
    KEY_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    ADDED_AT_FIELD_NUMBER: _ClassVar[int]
    key: str
    filename: str
    content_type: str
    size: int
    added_at: _timestamp_pb2.Timestamp
    def __init__(self, key: _Optional[str] = ..., filename: _Optional[str] = ..., content_type: _Optional[str] = ..., size: _Optional[int] = ..., added_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Brand(_message.Message):
    __slots__ = ("id", "title", "description", "product_images", "brand_assets", "brand_guidelines_json", "created_at", "updated_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_IMAGES_FIELD_NUMBER: _ClassVar[int]
    BRAND_ASSETS_FIELD_NUMBER: _ClassVar[int]
    BRAND_GUIDELINES_JSON_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    title: str
    description: str
    product_images: _containers.RepeatedCompositeFieldContainer[BrandFile]
    brand_assets: _containers.RepeatedCompositeFieldContainer[BrandFile]
    brand_guidelines_json: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., product_images: _Optional[_Iterable[_Union[BrandFile, _Mapping]]] = ..., brand_assets: _Optional[_Iterable[_Union[BrandFile, _Mapping]]] = ..., brand_guidelines_json: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateBrandRequest(_message.Message):
    __slots__ = ("title", "description", "brand_guidelines_json")
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    BRAND_GUIDELINES_JSON_FIELD_NUMBER: _ClassVar[int]
    title: str
    description: str
    brand_guidelines_json: str
    def __init__(self, title: _Optional[str] = ..., description: _Optional[str] = ..., brand_guidelines_json: _Optional[str] = ...) -> None: ...

class ListBrandsRequest(_message.Message):
    __slots__ = ("limit", "cursor")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    limit: int
    cursor: str
    def __init__(self, limit: _Optional[int] = ..., cursor: _Optional[str] = ...) -> None: ...

class ListBrandsResponse(_message.Message):
    __slots__ = ("brands", "next_cursor")
    BRANDS_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    brands: _containers.RepeatedCompositeFieldContainer[Brand]
    next_cursor: str
    def __init__(self, brands: _Optional[_Iterable[_Union[Brand, _Mapping]]] = ..., next_cursor: _Optional[str] = ...) -> None: ...

class GetBrandRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class UpdateBrandRequest(_message.Message):
    __slots__ = ("id", "title", "description", "brand_guidelines_json")
    ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    BRAND_GUIDELINES_JSON_FIELD_NUMBER: _ClassVar[int]
    id: str
    title: str
    description: str
    brand_guidelines_json: str
    def __init__(self, id: _Optional[str] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., brand_guidelines_json: _Optional[str] = ...) -> None: ...

class AddBrandFileRequest(_message.Message):
    __slots__ = ("brand_id", "kind", "file")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    kind: str
    file: BrandFile
    def __init__(self, brand_id: _Optional[str] = ..., kind: _Optional[str] = ..., file: _Optional[_Union[BrandFile, _Mapping]] = ...) -> None: ...

class RemoveBrandFileRequest(_message.Message):
    __slots__ = ("brand_id", "key")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    key: str
    def __init__(self, brand_id: _Optional[str] = ..., key: _Optional[str] = ...) -> None: ...

class Project(_message.Message):
    __slots__ = ("id", "brand_id", "status", "ad_details_json", "zapcut_project_id", "created_at", "updated_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    AD_DETAILS_JSON_FIELD_NUMBER: _ClassVar[int]
    ZAPCUT_PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    brand_id: str
    status: str
    ad_details_json: str
    zapcut_project_id: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., brand_id: _Optional[str] = ..., status: _Optional[str] = ..., ad_details_json: _Optional[str] = ..., zapcut_project_id: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateProjectRequest(_message.Message):
    __slots__ = ("brand_id", "ad_details_json")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    AD_DETAILS_JSON_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    ad_details_json: str
    def __init__(self, brand_id: _Optional[str] = ..., ad_details_json: _Optional[str] = ...) -> None: ...

class ListProjectsRequest(_message.Message):
    __slots__ = ("brand_id", "status", "limit", "cursor")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    status: str
    limit: int
    cursor: str
    def __init__(self, brand_id: _Optional[str] = ..., status: _Optional[str] = ..., limit: _Optional[int] = ..., cursor: _Optional[str] = ...) -> None: ...

class ListProjectsResponse(_message.Message):
    __slots__ = ("projects", "next_cursor")
    PROJECTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    projects: _containers.RepeatedCompositeFieldContainer[Project]
    next_cursor: str
    def __init__(self, projects: _Optional[_Iterable[_Union[Project, _Mapping]]] = ..., next_cursor: _Optional[str] = ...) -> None: ...

class GetProjectRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class UpdateProjectRequest(_message.Message):
    __slots__ = ("id", "status", "ad_details_json", "zapcut_project_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    AD_DETAILS_JSON_FIELD_NUMBER: _ClassVar[int]
    ZAPCUT_PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    status: str
    ad_details_json: str
    zapcut_project_id: str
    def __init__(self, id: _Optional[str] = ..., status: _Optional[str] = ..., ad_details_json: _Optional[str] = ..., zapcut_project_id: _Optional[str] = ...) -> None: ...

class ChatMessage(_message.Message):
    __slots__ = ("id", "ad_project_id", "role", "content", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    AD_PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    ad_project_id: str
    role: str
    content: str
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., ad_project_id: _Optional[str] = ..., role: _Optional[str] = ..., content: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AddMessageRequest(_message.Message):
    __slots__ = ("ad_project_id", "role", "content")
    AD_PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    ad_project_id: str
    role: str
    content: str
    def __init__(self, ad_project_id: _Optional[str] = ..., role: _Optional[str] = ..., content: _Optional[str] = ...) -> None: ...

class ListMessagesRequest(_message.Message):
    __slots__ = ("ad_project_id", "limit", "cursor")
    AD_PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    ad_project_id: str
    limit: int
    cursor: str
    def __init__(self, ad_project_id: _Optional[str] = ..., limit: _Optional[int] = ..., cursor: _Optional[str] = ...) -> None: ...

class ListMessagesResponse(_message.Message):
    __slots__ = ("messages", "next_cursor")
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[ChatMessage]
    next_cursor: str
    def __init__(self, messages: _Optional[_Iterable[_Union[ChatMessage, _Mapping]]] = ..., next_cursor: _Optional[str] = ...) -> None: ...

class Scene(_message.Message):
    __slots__ = ("order", "description", "duration_s", "voiceover_text", "on_screen_text")
    ORDER_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    DURATION_S_FIELD_NUMBER: _ClassVar[int]
    VOICEOVER_TEXT_FIELD_NUMBER: _ClassVar[int]
    ON_SCREEN_TEXT_FIELD_NUMBER: _ClassVar[int]
    order: int
    description: str
    duration_s: float
    voiceover_text: str
    on_screen_text: str
    def __init__(self, order: _Optional[int] = ..., description: _Optional[str] = ..., duration_s: _Optional[float] = ..., voiceover_text: _Optional[str] = ..., on_screen_text: _Optional[str] = ...) -> None: ...

class Script(_message.Message):
    __slots__ = ("id", "ad_project_id", "storyline", "scenes", "approved_at", "created_at", "updated_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    AD_PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    STORYLINE_FIELD_NUMBER: _ClassVar[int]
    SCENES_FIELD_NUMBER: _ClassVar[int]
    APPROVED_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    ad_project_id: str
    storyline: str
    scenes: _containers.RepeatedCompositeFieldContainer[Scene]
    approved_at: _timestamp_pb2.Timestamp
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., ad_project_id: _Optional[str] = ..., storyline: _Optional[str] = ..., scenes: _Optional[_Iterable[_Union[Scene, _Mapping]]] = ..., approved_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PutScriptRequest(_message.Message):
    __slots__ = ("ad_project_id", "storyline", "scenes")
    AD_PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    STORYLINE_FIELD_NUMBER: _ClassVar[int]
    SCENES_FIELD_NUMBER: _ClassVar[int]
    ad_project_id: str
    storyline: str
    scenes: _containers.RepeatedCompositeFieldContainer[Scene]
    def __init__(self, ad_project_id: _Optional[str] = ..., storyline: _Optional[str] = ..., scenes: _Optional[_Iterable[_Union[Scene, _Mapping]]] = ...) -> None: ...

class GenerationInput(_message.Message):
    __slots__ = ("project", "script", "product_images", "brand_title")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    SCRIPT_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_IMAGES_FIELD_NUMBER: _ClassVar[int]
    BRAND_TITLE_FIELD_NUMBER: _ClassVar[int]
    project: Project
    script: Script
    product_images: _containers.RepeatedCompositeFieldContainer[BrandFile]
    brand_title: str
    def __init__(self, project: _Optional[_Union[Project, _Mapping]] = ..., script: _Optional[_Union[Script, _Mapping]] = ..., product_images: _Optional[_Iterable[_Union[BrandFile, _Mapping]]] = ..., brand_title: _Optional[str] = ...) -> None: ...

class GenerationCharge(_message.Message):
    __slots__ = ("generation_id",)
    GENERATION_ID_FIELD_NUMBER: _ClassVar[int]
    generation_id: str
    def __init__(self, generation_id: _Optional[str] = ...) -> None: ...

class ChargeResult(_message.Message):
    __slots__ = ("kind", "refunded", "user")
    KIND_FIELD_NUMBER: _ClassVar[int]
    REFUNDED_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    kind: str
    refunded: bool
    user: User
    def __init__(self, kind: _Optional[str] = ..., refunded: _Optional[bool] = ..., user: _Optional[_Union[User, _Mapping]] = ...) -> None: ...

class ReplyToMessageRequest(_message.Message):
    __slots__ = ("ad_project_id", "content")
    AD_PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    ad_project_id: str
    content: str
    def __init__(self, ad_project_id: _Optional[str] = ..., content: _Optional[str] = ...) -> None: ...

class ReplyToMessageResponse(_message.Message):
    __slots__ = ("message", "reply")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    REPLY_FIELD_NUMBER: _ClassVar[int]
    message: ChatMessage
    reply: ChatMessage
    def __init__(self, message: _Optional[_Union[ChatMessage, _Mapping]] = ..., reply: _Optional[_Union[ChatMessage, _Mapping]] = ...) -> None: ...

class DraftScriptRequest(_message.Message):
    __slots__ = ("ad_project_id", "duration_s", "scene_count")
    AD_PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    DURATION_S_FIELD_NUMBER: _ClassVar[int]
    SCENE_COUNT_FIELD_NUMBER: _ClassVar[int]
    ad_project_id: str
    duration_s: int
    scene_count: int
    def __init__(self, ad_project_id: _Optional[str] = ..., duration_s: _Optional[int] = ..., scene_count: _Optional[int] = ...) -> None: ...

class DraftScriptResponse(_message.Message):
    __slots__ = ("script", "source", "note")
    SCRIPT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    script: Script
    source: str
    note: str
    def __init__(self, script: _Optional[_Union[Script, _Mapping]] = ..., source: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...
