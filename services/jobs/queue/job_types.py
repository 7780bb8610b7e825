"""The job types this service can run: each validates its parameters and does its work.

CreateJob refuses a type that has no entry here, so a row never waits for a handler that does not
exist. Handlers are synchronous: they run inside an RQ work horse.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from redis import Redis
from sqlalchemy.engine import Engine

from services.common.errors import InvalidArgument
from services.jobs import diagnostic
from services.jobs.config import Settings


@dataclass(frozen=True)
class JobContext:
    """What a handler gets besides its parameters: the job's identity and the worker's connections."""

    job_id: str
    ad_project_id: str
    engine: Engine
    redis: Redis


@dataclass(frozen=True)
class JobType:
    # Raises InvalidArgument for bad parameters; returns them with defaults filled in.
    validate_params: Callable[[dict], dict]
    # Does the work; returns what is stored as the row's result (a JSON object).
    run: Callable[[JobContext, dict], dict]
    # RQ's job_timeout for this type, from settings.
    timeout_s: Callable[[Settings], int]
    # Whether CreateJob may make one; generation steps come only from StartGeneration.
    creatable: bool = True
    # Called after the row has settled (completed, failed or cancelled), with the row's params.
    after: Callable[[JobContext, dict], None] | None = None


def _generation_step(kind: str) -> JobType:
    # Imported when a step runs, not with this module: the service never loads rendering code.
    def validate(params: dict) -> dict:
        from services.jobs import generation_runtime

        return generation_runtime.validate_params(params)

    def run(ctx: JobContext, params: dict) -> dict:
        from services.jobs import generation_runtime

        return generation_runtime.run_step(ctx, params, kind)

    def after(ctx: JobContext, params: dict) -> None:
        from services.jobs import generation_runtime

        generation_runtime.after_step(ctx, params)

    return JobType(validate, run, lambda s: s.generation_step_timeout_s, creatable=False, after=after)


JOB_TYPES: dict[str, JobType] = {
    "diagnostic": JobType(diagnostic.validate_params, diagnostic.run, lambda s: s.diagnostic_job_timeout_s),
    **{kind: _generation_step(kind) for kind in ("scene", "voiceover", "music", "composite")},
}


def job_type(name: str) -> JobType:
    """A type CreateJob may create."""
    if not name:
        raise InvalidArgument("job_type is required")
    entry = JOB_TYPES.get(name)
    if entry is None or not entry.creatable:
        known = ", ".join(sorted(n for n, t in JOB_TYPES.items() if t.creatable))
        raise InvalidArgument(f"no handler for job_type {name!r} (known: {known})")
    return entry


def job_timeout_s(settings: Settings, name: str) -> int:
    """RQ's job_timeout for a row's type; a type without a handler fails at once, so any value fits."""
    entry = JOB_TYPES.get(name)
    return entry.timeout_s(settings) if entry else settings.diagnostic_job_timeout_s
