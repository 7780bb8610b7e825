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
