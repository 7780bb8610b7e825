from zapcut.common.v1 import dependencies_pb2 as _dependencies_pb2
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor
