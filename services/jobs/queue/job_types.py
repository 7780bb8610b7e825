"""The one registry of job types: for each, the handler a worker runs, how its parameters are
checked, its RQ job_timeout (from settings) and what follows once its record has settled.

CreateJob refuses a type that has no entry here or is not creatable, so a row never waits for a
handler that does not exist; generation steps come only from StartGeneration, a LoRA training only
from StartLoraTraining. The functions are named by dotted path ("module:function", resolved on first
use) so that the service, which reads this registry to validate and to enqueue, never imports what
only a worker runs (the generation steps load the rendering code).

A handler is synchronous (it runs in an RQ work horse): handler(JobContext, params) -> the result
stored on the row (a JSON object), or None.
"""

from __future__ import annotations

import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from services.common.errors import InvalidArgument
from services.jobs.config import Settings
from services.jobs.runtime import Runtime

LORA_TRAINING = "lora_training"


@dataclass(frozen=True)
class JobContext:
    """What a handler gets besides its parameters."""

    job_id: str  # the row it runs for: a generation_jobs row (a lora_models row for a LoRA training)
    ad_project_id: str  # "" for a LoRA training
    runtime: Runtime


@dataclass(frozen=True)
class JobType:
    handler: str  # "module:function"
    timeout_s: Callable[[Settings], int]  # RQ's job_timeout: its default of 180 s fits no type
    # Checks the parameters: InvalidArgument when bad, else them with defaults filled in.
    validator: str | None = None
    # Called once the record has settled (completed, failed or cancelled), with the parameters.
    after: str | None = None
    creatable: bool = True  # whether CreateJob may make one

    def validate_params(self, params: dict) -> dict:
        return params if self.validator is None else _function(self.validator)(params)

    def run(self, ctx: JobContext, params: dict) -> dict | None:
        return _function(self.handler)(ctx, params)

    def run_after(self, ctx: JobContext, params: dict) -> None:
        if self.after is not None:
            _function(self.after)(ctx, params)


def _step(name: str) -> JobType:
    return JobType(
        handler=f"services.jobs.generation.steps:{name}",
        timeout_s=lambda s: s.generation_step_timeout_s,
        validator="services.jobs.generation.steps:validate_params",
        after="services.jobs.generation.outcome:after_step",
        creatable=False,
    )


JOB_TYPES: dict[str, JobType] = {
    "diagnostic": JobType(
        handler="services.jobs.queue.diagnostic:run",
        timeout_s=lambda s: s.diagnostic_job_timeout_s,
        validator="services.jobs.queue.diagnostic:validate_params",
    ),
    **{name: _step(name) for name in ("scene", "voiceover", "music", "composite")},
    LORA_TRAINING: JobType(
        handler="services.jobs.lora.training:run",
        timeout_s=lambda s: s.lora_training_timeout_s,
        creatable=False,
    ),
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


def load_all() -> None:
    """Import every function the registry names (a worker does, before it forks its horses)."""
    for entry in JOB_TYPES.values():
        for path in (entry.handler, entry.validator, entry.after):
            if path is not None:
                _function(path)


@cache
def _function(path: str) -> Callable:
    return pkgutil.resolve_name(path)
