import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from zapcut.common.v1 import dependencies_pb2 as _dependencies_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CreateJobRequest(_message.Message):
    __slots__ = ("ad_project_id", "job_type", "input_params_json")
    AD_PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_TYPE_FIELD_NUMBER: _ClassVar[int]
    INPUT_PARAMS_JSON_FIELD_NUMBER: _ClassVar[int]
    ad_project_id: str
    job_type: str
    input_params_json: str
    def __init__(self, ad_project_id: _Optional[str] = ..., job_type: _Optional[str] = ..., input_params_json: _Optional[str] = ...) -> None: ...

class GetJobRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ListJobsRequest(_message.Message):
    __slots__ = ("ad_project_id",)
    AD_PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    ad_project_id: str
    def __init__(self, ad_project_id: _Optional[str] = ...) -> None: ...

class Job(_message.Message):
    __slots__ = ("id", "ad_project_id", "job_type", "status", "input_params_json", "result_json", "output_url", "error_message", "replicate_job_id", "created_at", "updated_at", "started_at", "finished_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    AD_PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_TYPE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    INPUT_PARAMS_JSON_FIELD_NUMBER: _ClassVar[int]
    RESULT_JSON_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_URL_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    REPLICATE_JOB_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    ad_project_id: str
    job_type: str
    status: str
    input_params_json: str
    result_json: str
    output_url: str
    error_message: str
    replicate_job_id: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    started_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., ad_project_id: _Optional[str] = ..., job_type: _Optional[str] = ..., status: _Optional[str] = ..., input_params_json: _Optional[str] = ..., result_json: _Optional[str] = ..., output_url: _Optional[str] = ..., error_message: _Optional[str] = ..., replicate_job_id: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListJobsResponse(_message.Message):
    __slots__ = ("jobs",)
    JOBS_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[Job]
    def __init__(self, jobs: _Optional[_Iterable[_Union[Job, _Mapping]]] = ...) -> None: ...

class StartGenerationRequest(_message.Message):
    __slots__ = ("ad_project_id", "aspect", "resolution", "idempotency_key")
    AD_PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    ASPECT_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    ad_project_id: str
    aspect: str
    resolution: int
    idempotency_key: str
    def __init__(self, ad_project_id: _Optional[str] = ..., aspect: _Optional[str] = ..., resolution: _Optional[int] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class GetGenerationRequest(_message.Message):
    __slots__ = ("ad_project_id", "generation_id")
    AD_PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    GENERATION_ID_FIELD_NUMBER: _ClassVar[int]
    ad_project_id: str
    generation_id: str
    def __init__(self, ad_project_id: _Optional[str] = ..., generation_id: _Optional[str] = ...) -> None: ...

class ListGenerationsRequest(_message.Message):
    __slots__ = ("ad_project_id",)
    AD_PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    ad_project_id: str
    def __init__(self, ad_project_id: _Optional[str] = ...) -> None: ...

class GenerationStep(_message.Message):
    __slots__ = ("id", "name", "job_type", "status", "progress", "stage", "attempts", "provider", "replicate_job_id", "output_key", "error_message", "created_at", "started_at", "finished_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    JOB_TYPE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    REPLICATE_JOB_ID_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_KEY_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    job_type: str
    status: str
    progress: int
    stage: str
    attempts: int
    provider: str
    replicate_job_id: str
    output_key: str
    error_message: str
    created_at: _timestamp_pb2.Timestamp
    started_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., job_type: _Optional[str] = ..., status: _Optional[str] = ..., progress: _Optional[int] = ..., stage: _Optional[str] = ..., attempts: _Optional[int] = ..., provider: _Optional[str] = ..., replicate_job_id: _Optional[str] = ..., output_key: _Optional[str] = ..., error_message: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Generation(_message.Message):
    __slots__ = ("id", "ad_project_id", "status", "progress", "aspect", "width", "height", "provider", "charge", "refunded", "final_key", "error_message", "steps", "created_at", "updated_at", "finished_at", "duration_s")
    ID_FIELD_NUMBER: _ClassVar[int]
    AD_PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    ASPECT_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    CHARGE_FIELD_NUMBER: _ClassVar[int]
    REFUNDED_FIELD_NUMBER: _ClassVar[int]
    FINAL_KEY_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    DURATION_S_FIELD_NUMBER: _ClassVar[int]
    id: str
    ad_project_id: str
    status: str
    progress: int
    aspect: str
    width: int
    height: int
    provider: str
    charge: str
    refunded: bool
    final_key: str
    error_message: str
    steps: _containers.RepeatedCompositeFieldContainer[GenerationStep]
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    duration_s: float
    def __init__(self, id: _Optional[str] = ..., ad_project_id: _Optional[str] = ..., status: _Optional[str] = ..., progress: _Optional[int] = ..., aspect: _Optional[str] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., provider: _Optional[str] = ..., charge: _Optional[str] = ..., refunded: _Optional[bool] = ..., final_key: _Optional[str] = ..., error_message: _Optional[str] = ..., steps: _Optional[_Iterable[_Union[GenerationStep, _Mapping]]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., duration_s: _Optional[float] = ...) -> None: ...

class ListGenerationsResponse(_message.Message):
    __slots__ = ("generations",)
    GENERATIONS_FIELD_NUMBER: _ClassVar[int]
    generations: _containers.RepeatedCompositeFieldContainer[Generation]
    def __init__(self, generations: _Optional[_Iterable[_Union[Generation, _Mapping]]] = ...) -> None: ...

class LoraRequest(_message.Message):
    __slots__ = ("brand_id",)
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    def __init__(self, brand_id: _Optional[str] = ...) -> None: ...

class LoraApproval(_message.Message):
    __slots__ = ("brand_id", "approved")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    APPROVED_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    approved: bool
    def __init__(self, brand_id: _Optional[str] = ..., approved: _Optional[bool] = ...) -> None: ...

class LoraModel(_message.Message):
    __slots__ = ("id", "brand_id", "status", "model_url", "preview_image_url", "training_job_id", "user_approved", "error_message", "trained_at", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    MODEL_URL_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_IMAGE_URL_FIELD_NUMBER: _ClassVar[int]
    TRAINING_JOB_ID_FIELD_NUMBER: _ClassVar[int]
    USER_APPROVED_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TRAINED_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    brand_id: str
    status: str
    model_url: str
    preview_image_url: str
    training_job_id: str
    user_approved: bool
    error_message: str
    trained_at: _timestamp_pb2.Timestamp
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., brand_id: _Optional[str] = ..., status: _Optional[str] = ..., model_url: _Optional[str] = ..., preview_image_url: _Optional[str] = ..., training_job_id: _Optional[str] = ..., user_approved: _Optional[bool] = ..., error_message: _Optional[str] = ..., trained_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
