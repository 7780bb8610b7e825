"""The one logging setup: stdout, level from LOG_LEVEL, text or one JSON object per line (LOG_FORMAT).

A filter scrubs secrets from every record before it is written: the values of the configured
secrets, passwords inside URLs, the query strings of signed URLs, bearer tokens and `password=`-style
pairs. It sits on the one root handler, so it covers every library that logs through `logging`.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from services.common.context import request_id_var

if TYPE_CHECKING:
    from services.common.settings import BaseConfig

_PATTERNS = [
    # scheme://user:password@host -> scheme://user:***@host
    (re.compile(r"(?P<pre>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]+:)[^@\s]+(?P<post>@)"), r"\g<pre>***\g<post>"),
    (re.compile(r"(?i)(?P<pre>bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\g<pre>***"),
    (
        re.compile(
            r"(?i)(?P<pre>[\"']?(?:password|passwd|secret|token|api_key|apikey|access_key|secret_key|signature)"
            r"[\"']?\s*[:=]\s*[\"']?)[^\s\"',&}]+"
        ),
        r"\g<pre>***",
    ),
]


# A URL's query string, and the parameters that make one a credential: a presigned S3 URL (SigV4 or
# V2), a signed GCS/Azure URL, or a key/token passed in the query. Libraries log whole URLs (httpx:
# "HTTP Request: GET https://...?X-Amz-Signature=..."), and a signed URL works for anyone who reads it
# until it expires, so the whole query goes; the path still says which object was fetched.
# (absolute, or a path as in a server's request line: "GET /bucket/key?X-Amz-Signature=... HTTP/1.1").
# The query runs to the next space: S3 signs response-content-disposition with its quotes unescaped.
_URL_QUERY = re.compile(r"(?P<url>(?:[a-zA-Z][a-zA-Z0-9+.-]*://|/)[^\s?#\"'<>]*)\?(?P<query>[^\s#<>]*)")
_CREDENTIAL_PARAMS = re.compile(
    r"(?i)(?:^|[&;])(?:x-amz-(?:signature|credential|security-token)|signature|awsaccesskeyid|"
    r"x-goog-(?:signature|credential)|sig|access_token|token|api_?key|key|password|secret)="
)
REDACTED_QUERY = "?[redacted]"


def _redact_signed_query(match: re.Match[str]) -> str:
    if _CREDENTIAL_PARAMS.search(match["query"]):
        return match["url"] + REDACTED_QUERY
    return match.group()


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    for value in secrets:
        if value and len(value) >= 4:
            text = text.replace(value, "***")
    text = _URL_QUERY.sub(_redact_signed_query, text)
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


class RedactingFilter(logging.Filter):
    def __init__(self, secrets: Iterable[str] = ()):
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg = redact(message, self.secrets)
        record.args = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        record.request_id = request_id_var.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    # Fields a caller may attach with `extra=` that belong in the JSON object.
    EXTRA_FIELDS = ("method", "path", "status", "duration_ms", "client", "grpc_method", "job_id")

    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        for key in self.EXTRA_FIELDS:
            if hasattr(record, key):
                payload[key] = getattr(record, key)
        if record.exc_text:
            payload["exc"] = record.exc_text
        return json.dumps(payload, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self, service: str):
        super().__init__(
            fmt=f"%(asctime)s %(levelname)s {service} [%(request_id)s] %(name)s: %(message)s",
            datefmt="%Y-%m-%dT%H:%M:%S",
        )


def configure_logging(
    service: str, level: str = "INFO", fmt: str = "text", secrets: Iterable[str] = ()
) -> None:
    """Replace the root handlers with one stdout handler; route uvicorn's and RQ's loggers through it."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service) if fmt == "json" else TextFormatter(service))
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "rq.worker", "rq", "alembic", "botocore"):
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True
    # One line per request comes from the gateway's own middleware.
    logging.getLogger("uvicorn.access").disabled = True
    for noisy in ("botocore", "boto3", "urllib3", "s3transfer"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))


def configure_from_settings(service: str, settings: BaseConfig) -> None:
    """configure_logging with the secrets a settings object holds."""
    from pydantic import SecretStr

    secrets = [
        v.get_secret_value()
        for v in settings.__dict__.values()
        if isinstance(v, SecretStr) and v.get_secret_value()
    ]
    configure_logging(service, settings.log_level, settings.log_format, secrets)
