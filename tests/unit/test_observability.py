"""The pure parts of traces and metrics: when tracing is on, each process's service name, and the
route template a request is counted under."""

from __future__ import annotations

import pytest

from services.common.telemetry import service_name, tracing_wanted
from services.gateway.metrics import UNMATCHED, HttpMetricsMiddleware

ENDPOINT = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}


@pytest.mark.parametrize(
    ("env", "wanted"),
    [
        ({}, False),
        (ENDPOINT, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        (ENDPOINT | {"OTEL_TRACES_EXPORTER": "none"}, False),
        (ENDPOINT | {"OTEL_SDK_DISABLED": "true"}, False),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, False),  # nowhere to send them
    ],
)
def test_tracing_is_on_only_with_an_endpoint_and_nothing_turning_it_off(env, wanted):
    assert tracing_wanted(env) is wanted


def test_each_role_is_named_zapcut_role_unless_otel_service_name_says_otherwise():
    assert service_name("worker", {}) == "zapcut-worker"
    assert service_name("gateway", {"OTEL_SERVICE_NAME": "edge"}) == "edge"


@pytest.mark.parametrize(
    ("scope", "template"),
    [
        (
            {"path": "/api/projects/7b0c/generate", "path_params": {"project_id": "7b0c"}, "endpoint": 1},
            "/api/projects/{project_id}/generate",
        ),
        (
            {
                "path": "/api/brands/b1/files/f2",
                "path_params": {"brand_id": "b1", "file_id": "f2"},
                "endpoint": 1,
            },
            "/api/brands/{brand_id}/files/{file_id}",
        ),
        ({"path": "/api/brands", "path_params": {}, "endpoint": 1}, "/api/brands"),
        ({"path": "/api/brands/b1/x"}, UNMATCHED),  # no route: never the raw path
    ],
)
def test_requests_are_counted_by_route_template_never_by_raw_path(scope, template):
    assert HttpMetricsMiddleware.route_template(scope) == template


def test_with_no_endpoint_set_up_installs_nothing(monkeypatch):
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider

    from services.common import telemetry

    for variable in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(variable, raising=False)
    assert telemetry.setup_tracing("gateway") is False
    assert not isinstance(trace.get_tracer_provider(), TracerProvider)
    assert telemetry.current_context_carrier() == {}  # nothing to carry into RQ
    with telemetry.consumer_span("run_job", {"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"}):
        assert not trace.get_current_span().is_recording()
