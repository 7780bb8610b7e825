"""Domain errors that service code raises; the gRPC layer turns each into its status code.

Domain modules raise these and stay free of protobuf and grpc; `grpc_server` maps them.
"""

from __future__ import annotations

import grpc

RETRY_AFTER_TRAILER = "retry-after-s"
# A machine-readable reason for clients that need more than the status code (payment_required).
ERROR_REASON_TRAILER = "error-reason"


class ServiceError(Exception):
    code: grpc.StatusCode = grpc.StatusCode.INTERNAL
    trailers: tuple[tuple[str, str], ...] = ()

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidArgument(ServiceError):
    code = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(ServiceError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(ServiceError):
    code = grpc.StatusCode.ALREADY_EXISTS


class FailedPrecondition(ServiceError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class PermissionDenied(ServiceError):
    code = grpc.StatusCode.PERMISSION_DENIED


class Unauthenticated(ServiceError):
    code = grpc.StatusCode.UNAUTHENTICATED


class ResourceExhausted(ServiceError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED

    def __init__(self, message: str, retry_after_s: int | None = None):
        super().__init__(message)
        if retry_after_s is not None:
            # Sent as trailing metadata; the gateway turns it into a Retry-After header.
            self.trailers = ((RETRY_AFTER_TRAILER, str(retry_after_s)),)


class Unavailable(ServiceError):
    code = grpc.StatusCode.UNAVAILABLE


class Upstream(ServiceError):
    """What another of our services answered, passed on as it is: code, message and reason."""

    def __init__(self, exc: grpc.aio.AioRpcError):
        super().__init__(exc.details() or exc.code().name)
        self.code = exc.code()
        self.trailers = tuple(
            (k, v)
            for k, v in (exc.trailing_metadata() or ())
            if k == ERROR_REASON_TRAILER and isinstance(v, str)
        )


def unavailable_dependency(exc: BaseException) -> str | None:
    """The name of the backing server an exception says is unreachable (postgres, redis), if any.

    The gRPC boundary turns these into UNAVAILABLE, so every service answers "try again" the same
    way when its database or Redis is down, instead of each module catching them on its own."""
    from redis import exceptions as redis_exc
    from sqlalchemy import exc as sa_exc

    if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)):
        return "postgres"
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return "postgres"
    if isinstance(exc, (redis_exc.ConnectionError, redis_exc.TimeoutError)):
        return "redis"
    return None
