"""OpenTelemetry traces, set up once per process by its wiring (the gateway's app factory,
services.common.grpc_server.run_service, the worker's main).

Configured only by the standard OTEL_* variables, which the SDK reads itself: tracing is on when
OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set and neither
OTEL_TRACES_EXPORTER=none nor OTEL_SDK_DISABLED=true turns it off. Spans go out over OTLP/HTTP
(protobuf) in batches. When it is off nothing is installed: no provider, no instrumentation, and the
API's no-op tracer answers the few calls our own code makes.

Unless OTEL_TRACES_SAMPLER says otherwise, a trace starts only at an entry point (a request to a
server, a job a worker takes): the background loops (reconcilers, outbox relays, RQ's polling)
would otherwise send a root span for every Redis command and query they make, every second.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

log = logging.getLogger(__name__)

# The attribute on a job's meta (RQ) that carries the W3C trace context of whoever enqueued it.
JOB_TRACE_META = "trace_context"
REQUEST_ID_ATTRIBUTE = "zapcut.request_id"

_provider: TracerProvider | None = None


def tracing_wanted(env: Mapping[str, str] = os.environ) -> bool:
    """Whether the standard variables ask for traces (an OTLP endpoint, and nothing turning it off)."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if env.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() == "none":
        return False
    return bool(env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def service_name(role: str, env: Mapping[str, str] = os.environ) -> str:
    """OTEL_SERVICE_NAME when set, else zapcut-<role> (zapcut-gateway, ..., zapcut-worker)."""
    return env.get("OTEL_SERVICE_NAME") or f"zapcut-{role}"


def setup_tracing(role: str) -> bool:
    """Install the tracer provider and the instrumentations when the environment asks for traces;
    True if it did (or had already). Call before the process opens engines, channels or servers."""
    global _provider
    if _provider is not None:
        return True
    if not tracing_wanted():
        return False
    # Imported here: a process with tracing off never loads the SDK or the instrumentations.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased

    sampler = None if os.environ.get("OTEL_TRACES_SAMPLER") else ParentBased(root=_entry_points_sampler())
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service_name(role)}), sampler=sampler)
    # The batch processor's thread is started again in a forked child (the SDK registers that), so
    # an RQ work horse exports with its parent's provider; it flushes at the end of each job.
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _provider = provider
    _instrument_libraries()
    log.info("tracing on: service.name %s", service_name(role))
    return True


def _entry_points_sampler() -> Any:
    from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
    from opentelemetry.trace import SpanKind

    class EntryPoints(Sampler):
        """Samples a root span only when it is a request served or a job consumed."""

        def should_sample(
            self,
            parent_context: otel_context.Context | None,
            trace_id: int,
            name: str,
            kind: SpanKind | None = None,
            attributes: Any = None,
            links: Sequence[Any] | None = None,
            trace_state: Any = None,
        ) -> SamplingResult:
            if kind in (SpanKind.SERVER, SpanKind.CONSUMER):
                return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes)
            return SamplingResult(Decision.DROP)

        def get_description(self) -> str:
            return "EntryPoints"

    return EntryPoints()


# The standard instrumentation of each library our processes use, by the library it needs: a role's
# image may lack a library it never uses (the gateway has no SQLAlchemy or boto3), and then the
# instrumentation is skipped rather than imported.
_INSTRUMENTATIONS = {
    "grpc": [
        ("opentelemetry.instrumentation.grpc", "GrpcAioInstrumentorServer"),
        ("opentelemetry.instrumentation.grpc", "GrpcAioInstrumentorClient"),
        ("opentelemetry.instrumentation.grpc", "GrpcInstrumentorClient"),  # the workers' blocking channels
    ],
    "sqlalchemy": [("opentelemetry.instrumentation.sqlalchemy", "SQLAlchemyInstrumentor")],
    "redis": [("opentelemetry.instrumentation.redis", "RedisInstrumentor")],
    "httpx": [("opentelemetry.instrumentation.httpx", "HTTPXClientInstrumentor")],
    "botocore": [("opentelemetry.instrumentation.botocore", "BotocoreInstrumentor")],
}


def _instrument_libraries() -> None:
    """Each instrumentation patches its library's module or classes, so it reaches the clients made
    afterwards (services.common.db looks its engine factories up at call time for that reason)."""
    for library, instrumentors in _INSTRUMENTATIONS.items():
        if importlib.util.find_spec(library) is None:
            continue
        for module, name in instrumentors:
            getattr(importlib.import_module(module), name)().instrument()


def instrument_fastapi(app: Any) -> None:
    """Server spans for the gateway's routes (named by route template), when tracing is on. The
    client's W3C traceparent, if any, becomes the parent."""
    if _provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    # No spans of their own for each ASGI send and receive: the request's span says enough.
    FastAPIInstrumentor.instrument_app(app, excluded_urls="/metrics$", exclude_spans=["receive", "send"])


def tag_request_id(request_id: str) -> None:
    """Put the request id (X-Request-ID) on the current span, so a log line leads to its trace."""
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attribute(REQUEST_ID_ATTRIBUTE, request_id)


def name_current_span(name: str, **attributes: str) -> None:
    """Rename the current span once what it does is known (a job's type, after its row is read)."""
    span = trace.get_current_span()
    if span.is_recording():
        span.update_name(name)
        span.set_attributes(attributes)


def current_context_carrier() -> dict[str, str]:
    """The current trace context as W3C headers (empty when nothing is being traced)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


@contextmanager
def consumer_span(name: str, carrier: Mapping[str, str] | None, **attributes: str) -> Iterator[None]:
    """A span for work taken from a queue, child of the trace that enqueued it (`carrier`, from
    current_context_carrier at enqueue time); flushed when it ends, because an RQ work horse leaves
    with os._exit and takes unsent spans with it."""
    if _provider is None:
        yield
        return
    parent = propagate.extract(dict(carrier or {}))
    tracer = trace.get_tracer("services.jobs.worker")
    try:
        with tracer.start_as_current_span(
            name, context=parent, kind=trace.SpanKind.CONSUMER, attributes=attributes
        ):
            yield
    finally:
        flush()


def flush(timeout_ms: int = 5000) -> None:
    if _provider is not None:
        _provider.force_flush(timeout_ms)
