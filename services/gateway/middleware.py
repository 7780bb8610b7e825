"""Pure ASGI middleware (no BaseHTTPMiddleware: it buffers and breaks context variables).

From the outside in (see main.create_app): RequestContextMiddleware (request id, one log line per
request, the last-resort 500), CORS, OverloadLimitMiddleware (429 when too busy), BodyLimitMiddleware
(413 for a body over the limit), BodyTypeMiddleware (415 for a body neither JSON nor multipart),
JsonDepthMiddleware (422 for JSON nested too deep, on every route),
MethodsMiddleware (OPTIONS and HEAD as HTTP defines them).
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Iterable, Mapping

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common.context import new_request_id, request_id_var
from services.common.telemetry import tag_request_id
from services.gateway.errors import (
    error_response,
    request_path_var,
    unexpected_error_response,
    validation_error_response,
)
from services.gateway.http_methods import allowed_methods

log = logging.getLogger("services.gateway.requests")

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")


def request_id_from(headers: Headers) -> str:
    """The client's X-Request-ID when it is a sane value (it ends up in logs and metadata), else a new one."""
    given = headers.get(REQUEST_ID_HEADER)
    if given is not None and _SANE_REQUEST_ID.fullmatch(given):
        return given
    return new_request_id()


def _loggable_path(scope: Scope) -> str:
    # The raw path stays percent-encoded, so a crafted URL cannot put a line break into the log;
    # the query string is left out entirely, since it may carry tokens.
    raw: bytes | None = scope.get("raw_path")
    if raw:
        return raw.decode("latin-1").partition("?")[0]
    path: str = scope.get("path", "")
    return path.encode("unicode_escape").decode("ascii")


class RequestContextMiddleware:
    """Request id in and out (context variable -> gRPC metadata and logs; X-Request-ID response
    header), one log line per request, and a JSON 500 for any exception the app let through."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(Headers(scope=scope))
        token = request_id_var.set(request_id)
        path_token = request_path_var.set(_loggable_path(scope))
        tag_request_id(request_id)
        started = time.perf_counter()
        status: int | None = None

        async def send_with_request_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_request_id)
        except Exception:
            if status is not None:
                raise  # too late for an error body; the server closes the connection
            log.exception("unhandled error on %s %s", scope["method"], _loggable_path(scope))
            await unexpected_error_response()(scope, receive, send_with_request_id)
        finally:
            self._log_request(scope, status, started)
            request_path_var.reset(path_token)
            request_id_var.reset(token)

    @staticmethod
    def _log_request(scope: Scope, status: int | None, started: float) -> None:
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        method, path = scope["method"], _loggable_path(scope)
        client = scope.get("client")
        level = logging.WARNING if status is None or status >= 500 else logging.INFO
        log.log(
            level,
            "%s %s %s %.1f ms",
            method,
            path,
            status if status is not None else "disconnected",
            duration_ms,
            extra={
                "method": method,
                "path": path,
                "status": status,
                "duration_ms": duration_ms,
                "client": client[0] if client else None,
            },
        )


class OverloadLimitMiddleware:
    """Sheds load beyond `max_concurrent` requests in flight with 429 + Retry-After, so a burst gets
    a fast answer instead of piling up behind the internal services' deadlines."""

    def __init__(
        self,
        app: ASGIApp,
        max_concurrent: int,
        retry_after_s: int = 1,
        exempt_paths: Iterable[str] = ("/api/health",),
    ):
        self.app = app
        self.max_concurrent = max_concurrent
        self.retry_after_s = retry_after_s
        # The aggregate health check stays answerable under load: an orchestrator that saw 429
        # there would restart a gateway that is merely busy.
        self.exempt_paths = frozenset(exempt_paths)
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt_paths:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.max_concurrent:
            response = error_response(
                429,
                "too_many_requests",
                "the server is busy; retry shortly",
                headers={"Retry-After": str(self.retry_after_s)},
            )
            await response(scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int):
        super().__init__(413, f"request body is larger than {limit} bytes")


class BodyLimitMiddleware:
    """413 for a request body over the limit: at once when Content-Length says so, or as soon as a
    chunked body grows past it.

    `limits_by_path` gives routes that need another limit (uploads) their own: a mapping of path
    regular expressions to limits; the first that matches wins.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int, limits_by_path: Mapping[str, int] | None = None):
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.limits_by_path = [(re.compile(p), limit) for p, limit in (limits_by_path or {}).items()]

    def limit_for(self, path: str) -> int:
        for pattern, limit in self.limits_by_path:
            if pattern.fullmatch(path):
                return limit
        return self.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large_response(limit)(scope, receive, send)
            return

        received = 0
        response_started = False

        async def receive_within_limit() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Raised inside the app: FastAPI re-raises HTTPExceptions from body reading, and
                    # the error handlers turn it into the JSON 413.
                    raise BodyTooLarge(limit)
            return message

        async def send_tracking(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, receive_within_limit, send_tracking)
        except BodyTooLarge:
            if response_started:
                raise
            await _too_large_response(limit)(scope, receive, send)


def _too_large_response(limit: int) -> JSONResponse:
    return error_response(413, "payload_too_large", f"request body is larger than {limit} bytes")


# A JSON string (escapes included) or one bracket: all the depth scan needs to look at.
_JSON_STRING_OR_BRACKET = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def json_depth_exceeds(body: bytes, max_depth: int) -> bool:
    """Whether the JSON text nests arrays/objects deeper than max_depth (strings are skipped, so
    brackets inside them don't count). Stops at the first level too deep."""
    depth = 0
    for match in _JSON_STRING_OR_BRACKET.finditer(body):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > max_depth:
                return True
        elif token in (b"]", b"}"):
            depth -= 1
    return False


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _is_json(content_type: str | None) -> bool:
    """The bodies FastAPI parses as JSON: no content type, application/json or application/*+json."""
    if not content_type:
        return True
    media_type = _media_type(content_type)
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def _has_body(headers: Headers) -> bool:
    return headers.get("content-length", "0") != "0" or "transfer-encoding" in headers


class BodyTypeMiddleware:
    """415 for a request body that is neither JSON nor multipart/form-data (the only two the API
    reads), or that has no Content-Type at all, on every route. (FastAPI would read such a body as
    bytes and answer a puzzling 422; the upload route answers 415 itself for JSON sent to it.)"""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in ("GET", "HEAD", "OPTIONS"):
            headers = Headers(scope=scope)
            content_type = headers.get("content-type")
            if _has_body(headers) and not (
                content_type
                and (_is_json(content_type) or _media_type(content_type) == "multipart/form-data")
            ):
                detail = "send the body as application/json (multipart/form-data for file uploads)"
                await error_response(415, "unsupported_media_type", detail)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class JsonDepthMiddleware:
    """422 for a JSON body nested deeper than `max_depth`, whatever the route, before anything parses
    it: recursive parsing, validation and serialisation of deep input cost stack and time (400 levels
    once made a 500). The body is already bounded by BodyLimitMiddleware, outside this one."""

    def __init__(self, app: ASGIApp, max_depth: int):
        self.app = app
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        if not _is_json(Headers(scope=scope).get("content-type")):
            await self.app(scope, receive, send)
            return
        chunks, more = [], True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                await self.app(scope, _replay([], message, receive), send)
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if json_depth_exceeds(body, self.max_depth):
            reason = f"JSON nested deeper than {self.max_depth} levels"
            response = validation_error_response([{"field": "body", "message": reason}])
            await response(scope, receive, send)
            return
        await self.app(scope, _replay([body], None, receive), send)


def _replay(bodies: list[bytes], last: Message | None, receive: Receive) -> Receive:
    """A receive that hands the app what was already read, then goes on with the real one."""
    pending: list[Message] = [{"type": "http.request", "body": b, "more_body": False} for b in bodies]
    if last is not None:
        pending.append(last)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


class ProblemCORSMiddleware(CORSMiddleware):
    """Starlette's CORS, with a refused preflight answered as a problem document like every other
    error (Starlette answers it in plain text)."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        headers = {k: v for k, v in response.headers.items() if k not in ("content-length", "content-type")}
        detail = bytes(response.body).decode()
        return error_response(response.status_code, "bad_request", detail, headers=headers)


class MethodsMiddleware:
    """OPTIONS and HEAD on every path, as HTTP defines them (RFC 9110): OPTIONS answers 204 with an
    Allow header listing every method of the path, HEAD runs GET and sends its headers without the
    body. CORS preflights never get here (the CORS middleware, outside this one, answers them); a path
    no route has goes on to the router's 404."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("OPTIONS", "HEAD"):
            await self.app(scope, receive, send)
            return
        methods = allowed_methods(scope["app"].router.routes, scope["path"])
        if not methods:
            await self.app(scope, receive, send)
        elif scope["method"] == "OPTIONS":
            await Response(status_code=204, headers={"Allow": ", ".join(methods)})(scope, receive, send)
        elif "GET" not in methods:
            await self.app(scope, receive, send)  # the router's 405, with this Allow
        else:
            with contextlib.suppress(_HeadersSent):
                await self.app({**scope, "method": "GET"}, receive, _without_body(send))


class _HeadersSent(Exception):
    """Stops a GET run for a HEAD once its headers are out: a stream (server-sent events) would
    otherwise go on producing a body nobody receives."""


def _without_body(send: Send) -> Send:
    async def send_headers_only(message: Message) -> None:
        if message["type"] != "http.response.body":
            await send(message)
            return
        await send({"type": "http.response.body", "body": b""})
        if message.get("more_body", False):
            raise _HeadersSent

    return send_headers_only
