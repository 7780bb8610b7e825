"""What a worker needs to run generation steps, made once per process: the provider chosen by
GENERATION_PROVIDER and the blocking clients of media and accounts."""

from __future__ import annotations

import os
import threading

from services.common.settings import load_settings
from services.jobs import generation_outcome, generation_steps
from services.jobs.config import Settings
from services.jobs.job_types import JobContext
from services.jobs.providers.base import Provider
from services.jobs.service_calls import ServiceCalls

_lock = threading.Lock()
_state: tuple[int, Settings, ServiceCalls, Provider] | None = None


def make_provider(settings: Settings) -> Provider:
    if settings.generation_provider == "replicate":
        from services.jobs.providers.replicate import ReplicateProvider

        return ReplicateProvider(settings)
    from services.jobs.providers.local import LocalProvider

    return LocalProvider()


def _runtime() -> tuple[Settings, ServiceCalls, Provider]:
    global _state
    with _lock:
        # gRPC channels must not cross a fork: a new work horse makes its own.
        if _state is None or _state[0] != os.getpid():
            settings = load_settings(Settings)
            _state = (os.getpid(), settings, ServiceCalls(settings), make_provider(settings))
        return _state[1], _state[2], _state[3]


def calls_and_settings() -> tuple[ServiceCalls, Settings]:
    settings, calls, _provider = _runtime()
    return calls, settings


def validate_params(params: dict) -> dict:
    return generation_steps.validate_params(params)


def run_step(ctx: JobContext, params: dict, kind: str) -> dict:
    settings, calls, provider = _runtime()
    return generation_steps.run(ctx, params, kind, calls, settings, provider)


def after_step(ctx: JobContext, params: dict) -> None:
    """Once a step has settled: the generation follows, and what it owes accounts is paid."""
    _settings, calls, _provider = _runtime()
    generation_outcome.settle(ctx.engine, ctx.redis, params["generation_id"])
    generation_outcome.pay_what_is_due(ctx.engine, calls, params["generation_id"])
