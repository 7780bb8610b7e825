"""The one mapping from S3/botocore failures to the service errors callers see as gRPC codes."""

from __future__ import annotations

import logging

from botocore.exceptions import BotoCoreError, ClientError

from services.common.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ServiceError,
    Unavailable,
)

log = logging.getLogger(__name__)

NOT_FOUND_CODES = {"NoSuchKey", "NotFound", "404", "NoSuchVersion", "NoSuchUpload"}
DENIED_CODES = {
    "AccessDenied",
    "403",
    "Forbidden",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "AllAccessDisabled",
    "AccountProblem",
}
UNAVAILABLE_CODES = {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "503", "500"}


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def http_status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


def is_not_found(exc: BaseException) -> bool:
    return isinstance(exc, ClientError) and (error_code(exc) in NOT_FOUND_CODES or http_status(exc) == 404)


def service_error(exc: Exception, operation: str, key: str | None = None) -> ServiceError:
    """The ServiceError for a failed S3 call, logged once here with what was being done."""
    where = f"{operation} {key}" if key else operation
    if isinstance(exc, ClientError):
        code, status = error_code(exc), http_status(exc)
        if code == "NoSuchBucket":
            error: ServiceError = Unavailable(f"s3 unavailable: the bucket does not exist ({where})")
        elif code in NOT_FOUND_CODES or status == 404:
            error = NotFound(f"no object {key}" if key else f"s3 found nothing ({where})")
        elif code in DENIED_CODES or status == 403:
            error = PermissionDenied(f"s3 denied access ({where}): {code}")
        elif code in UNAVAILABLE_CODES or status >= 500:
            error = Unavailable(f"s3 unavailable: {code or status} ({where})")
        elif code == "PreconditionFailed" or status == 412:
            error = FailedPrecondition(f"s3 precondition failed ({where})")
        elif code in ("InvalidArgument", "InvalidRequest", "InvalidRange"):
            error = InvalidArgument(f"s3 rejected the request ({where}): {_message(exc)}")
        else:
            error = ServiceError(f"s3 error {code or status} ({where})")
    elif isinstance(exc, BotoCoreError):
        # Connection refused or reset, DNS failure, connect/read timeout, no credentials found...
        error = Unavailable(f"s3 unavailable: {type(exc).__name__} ({where})")
    else:
        raise TypeError(f"not an S3 error: {exc!r}") from exc
    level = logging.INFO if isinstance(error, NotFound) else logging.WARNING
    log.log(level, "s3 %s failed: %s -> %s", where, _describe(exc), error.code.name)
    return error


def _message(exc: ClientError) -> str:
    text = str(exc.response.get("Error", {}).get("Message") or error_code(exc))
    return (text.splitlines() or [""])[0][:200]


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
