"""The one mapping from gRPC status to HTTP, and the one error body every failure gets: an RFC 9457
problem document, served as `application/problem+json`:

    {"type": "/problems/not_found", "title": "Not found", "status": 404, "detail": "brand not found",
     "instance": "/api/brands/...", "code": "not_found", "request_id": "..."}

plus `errors` (a list of {field, message}) on a 422. Handlers for FastAPI's validation errors, HTTP
exceptions and anything unexpected, and the middleware's own refusals (413, 422, 429, 500), all build
it here, so a client never sees a traceback or a second error format.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from contextvars import ContextVar
from http import HTTPStatus
from typing import Any

import grpc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.common.context import request_id_var
from services.common.errors import ERROR_REASON_TRAILER, RETRY_AFTER_TRAILER
from services.gateway.http_methods import allowed_methods

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
# Where the problem type pages live (GET /problems/{code}); `type` is this plus the code, a URI
# reference relative to the API's own address, so it resolves on every deployment.
PROBLEM_TYPE_PREFIX = "/problems/"

# The request path of the request being answered (the problem's `instance`), set by
# RequestContextMiddleware next to the request id.
request_path_var: ContextVar[str | None] = ContextVar("request_path", default=None)

HTTP_STATUS_FOR_GRPC: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.INVALID_ARGUMENT: 422,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 503,
    # The gateway cancels a call only when its own client has gone, and then nobody reads the
    # answer; a CANCELLED that arrives came from a service resetting the call as it stopped.
    grpc.StatusCode.CANCELLED: 503,
}

# Reasons a service gives (error-reason trailer) that have an HTTP status of their own.
HTTP_STATUS_FOR_REASON = {"payment_required": 402}

# Codes whose details come from our own domain code (ServiceError messages) and are meant for the
# client; anything else (INTERNAL, UNKNOWN, ...) is described generically and logged instead.
_CLIENT_FACING = {code for code, status in HTTP_STATUS_FOR_GRPC.items() if status < 500}

INTERNAL_ERROR_MESSAGE = "internal error"
# What FastAPI raises (HTTPException 400) for a request body it cannot decode at all.
FASTAPI_UNPARSABLE_BODY = "There was an error parsing the body"


def http_status_for(code: grpc.StatusCode) -> int:
    return HTTP_STATUS_FOR_GRPC.get(code, 500)


# Codes for errors that start at the HTTP layer; 401/403/503 use the same names as the gRPC codes
# that map to them, so a client sees one name per situation. Fixed here rather than derived from
# http.HTTPStatus, whose phrases differ between Python versions.
_CODE_FOR_STATUS = {
    400: "bad_request",
    401: "unauthenticated",
    402: "payment_required",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


def code_for_status(status: int) -> str:
    """not_found, method_not_allowed, ... for an HTTP status code."""
    if status in _CODE_FOR_STATUS:
        return _CODE_FOR_STATUS[status]
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        return "error"
    return re.sub(r"[^a-z0-9]+", "_", phrase.lower()).strip("_")


# Every problem type the API answers with: code -> (title, when). `type` is /problems/{code}, a page
# the gateway serves (services/gateway/api/problems.py); a title never changes between occurrences,
# the `detail` says what happened this time.
PROBLEM_TYPES: dict[str, tuple[str, str]] = {
    "bad_request": ("Bad request", "The request could not be read."),
    "unauthenticated": (
        "Not authenticated",
        "The bearer token is missing, malformed, expired or revoked, or the email or password is wrong.",
    ),
    "payment_required": ("No credit left", "No free video or credit is left to pay for a generation."),
    "permission_denied": ("Not allowed", "The caller may not do this (a wrong current password, say)."),
    "not_found": (
        "Not found",
        "No such path, or no such record among the caller's: another user's records are "
        "indistinguishable from ones that do not exist.",
    ),
    "method_not_allowed": ("Method not allowed", "The path exists; the Allow header lists its methods."),
    "conflict": ("Conflict", "The request conflicts with the current state of the record."),
    "already_exists": ("Already exists", "A record with the same unique value (an email, say) exists."),
    "failed_precondition": (
        "Not possible now",
        "The record is not in a state that allows this (a script not approved, a generation running, "
        "an upload whose size or type differ from what was announced).",
    ),
    "payload_too_large": ("Payload too large", "The request body or the file is larger than allowed."),
    "unsupported_media_type": (
        "Unsupported media type",
        "The request's Content-Type, or the file's declared type, is not one this operation accepts.",
    ),
    "validation_error": (
        "Validation failed",
        "The request is well-formed but its values are not acceptable; `errors` lists each field "
        "(`body.name`, `query.limit`, ...) with the reason.",
    ),
    "invalid_argument": (
        "Invalid value",
        "A service refused a value the request carried; `detail` says which and why.",
    ),
    "too_many_requests": (
        "Too many requests",
        "The server is busy (too many requests in flight); retry after Retry-After seconds.",
    ),
    "resource_exhausted": (
        "Rate limited",
        "A rate limit (login or sign-up attempts, the language model's quota) is reached; retry after "
        "Retry-After seconds.",
    ),
    "internal_error": ("Internal error", "An unexpected failure; the request id finds it in the logs."),
    "unavailable": (
        "Service unavailable",
        "A service the request needs, or its database, is down for a moment; `service` names it. "
        "Retry after Retry-After seconds.",
    ),
    "deadline_exceeded": (
        "Service did not answer in time",
        "A service the request needs did not answer within its deadline; `service` names it.",
    ),
    "cancelled": (
        "Service restarting",
        "A service stopped while answering; retry after Retry-After seconds.",
    ),
}


def problem_type(code: str) -> str:
    return PROBLEM_TYPE_PREFIX + code if code in PROBLEM_TYPES else "about:blank"


def problem_title(code: str, status: int) -> str:
    if code in PROBLEM_TYPES:
        return PROBLEM_TYPES[code][0]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_body(status: int, code: str, detail: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": problem_type(code),
        "title": problem_title(code, status),
        "status": status,
        "detail": detail,
    }
    instance = request_path_var.get()
    if instance:
        body["instance"] = instance
    body["code"] = code
    body["request_id"] = request_id_var.get()
    return body | extra


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_MEDIA_TYPE


def error_response(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None, **extra: Any
) -> JSONResponse:
    """The problem document for `status`; `message` is its `detail`; `extra` adds members (`errors`,
    `service`)."""
    if status == 422:
        # Every 422 lists its fields; empty when a service refused a value without naming the field
        # (its `detail` says which).
        extra.setdefault("errors", [])
    return ProblemResponse(problem_body(status, code, message, **extra), status_code=status, headers=headers)


class ServiceCallError(Exception):
    """A failed call to an internal service, knowing which service it was."""

    def __init__(
        self, service: str | None, code: grpc.StatusCode, details: str, retry_after_s: str | None = None
    ):
        super().__init__(f"{service or 'upstream'}: {code.name}: {details}")
        self.service = service
        self.code = code
        self.details = details
        self.retry_after_s = retry_after_s
        self.reason: str | None = None

    @classmethod
    def from_rpc_error(cls, service: str | None, exc: grpc.aio.AioRpcError) -> ServiceCallError:
        trailers = dict(exc.trailing_metadata() or ())
        error = cls(service, exc.code(), exc.details() or "", trailers.get(RETRY_AFTER_TRAILER))
        error.reason = trailers.get(ERROR_REASON_TRAILER)
        return error


def service_error_response(error: ServiceCallError) -> JSONResponse:
    status = http_status_for(error.code)
    code = error.code.name.lower()
    if error.reason in HTTP_STATUS_FOR_REASON:
        # A finer answer than the status code alone gives (402 rather than 409).
        status = HTTP_STATUS_FOR_REASON[error.reason]
        return error_response(status, error.reason, error.details or code_for_status(status))
    if error.code in _CLIENT_FACING:
        headers = {}
        if status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        if error.retry_after_s:
            headers["Retry-After"] = error.retry_after_s
        message = error.details or code_for_status(status).replace("_", " ")
        return error_response(status, code, message, headers=headers or None)
    who = f"{error.service} service" if error.service else "upstream service"
    extra: dict[str, Any] = {"service": error.service} if error.service else {}
    if status == 503:
        log.warning("%s: %s %s", who, error.code.name, error.details)
        timed_out = error.code == grpc.StatusCode.DEADLINE_EXCEEDED
        reason = "did not answer in time" if timed_out else "unavailable"
        return error_response(status, code, f"{who} {reason}", headers={"Retry-After": "1"}, **extra)
    log.error("%s failed: %s %s", who, error.code.name, error.details)
    return error_response(status, "internal_error", INTERNAL_ERROR_MESSAGE, **extra)


def validation_details(exc: RequestValidationError) -> list[dict[str, str]]:
    # Only where and why: the rejected input may be a password, so it is never echoed back.
    return [
        {"field": ".".join(str(part) for part in err.get("loc", ())), "message": str(err.get("msg", ""))}
        for err in exc.errors()
    ]


def validation_error_response(errors: list[dict[str, str]]) -> JSONResponse:
    return error_response(422, "validation_error", "request validation failed", errors=errors)


def unexpected_error_response() -> JSONResponse:
    return error_response(500, "internal_error", INTERNAL_ERROR_MESSAGE)


# --- exception handlers ------------------------------------------------------------------------


async def _service_call_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceCallError)
    return service_error_response(exc)


async def _rpc_error(_request: Request, exc: Exception) -> JSONResponse:
    # A stub on a channel without the gateway's naming interceptor (clients.py): same mapping, no
    # service name.
    assert isinstance(exc, grpc.aio.AioRpcError)
    return service_error_response(ServiceCallError.from_rpc_error(None, exc))


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = validation_details(exc)
    return validation_error_response(details)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) and exc.detail else HTTPStatus(exc.status_code).phrase
    headers = dict(exc.headers or {})
    if exc.status_code == 400 and exc.detail == FASTAPI_UNPARSABLE_BODY:
        # A body FastAPI could not even decode (not UTF-8, say): invalid input like any other, so the
        # one status for it, 422, rather than a 400 no operation documents.
        return validation_error_response([{"field": "body", "message": "the body is not valid JSON"}])
    if exc.status_code == 405:
        # The router names the methods of the one route it tried; HTTP wants every method of the path.
        headers["Allow"] = ", ".join(allowed_methods(request.app.router.routes, request.url.path))
    return error_response(exc.status_code, code_for_status(exc.status_code), message, headers=headers or None)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return unexpected_error_response()


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ServiceCallError, _service_call_error)
    app.add_exception_handler(grpc.aio.AioRpcError, _rpc_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
