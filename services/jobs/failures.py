"""What a failed job says to the people who see it, and whose fault the failure was.

A job's `error_message` (and a generation's, which is that of its failed step) is one readable
sentence naming the step: "Scene 2 failed: the media service was unavailable while storing the
output; gave up after 3 attempts." Exception types, gRPC debug strings and tracebacks go to the
logs only. Whether a failed generation is refunded follows the job's `fault` column ("user" for an
unusable input the user gave, "system" for everything else), never the wording of the message.
"""

from __future__ import annotations

from dataclasses import dataclass

from rq.timeouts import JobTimeoutException

from services.common.errors import ServiceError
from services.jobs.clients import ServiceCallFailed
from services.jobs.media_types import InputError, PermanentProviderError, TransientProviderError

USER = "user"
SYSTEM = "system"
MAX_CLAUSE_CHARS = 400
STEP_LABELS = {"voiceover": "The voiceover", "music": "The music", "composite": "The composite"}


class Failed(Exception):
    """A failure whose message is written for the user (the diagnostic's `fail_with`, say)."""


@dataclass(frozen=True)
class Failure:
    clause: str  # lower-case, one line: "the media service was unavailable while ..."
    fault: str  # USER or SYSTEM
    expected: bool = True  # False for a bug: logged with its traceback


def explain(exc: BaseException) -> Failure:
    if isinstance(exc, InputError):
        return Failure(one_line(exc), USER)
    if isinstance(
        exc, (PermanentProviderError, TransientProviderError, ServiceCallFailed, ServiceError, Failed)
    ):
        return Failure(one_line(exc), SYSTEM)
    if isinstance(exc, JobTimeoutException):
        return Failure("it ran longer than its time limit", SYSTEM)
    return Failure("an internal error stopped it", SYSTEM, expected=False)


def describe(exc: BaseException) -> str:
    """The readable clause alone, for records that are not jobs (a LoRA training)."""
    return explain(exc).clause


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= MAX_CLAUSE_CHARS else text[: MAX_CLAUSE_CHARS - 1] + "…"


def label(name: str | None) -> str:
    """scene_2 -> "Scene 2"; scene_2-16x9 -> "Scene 2 (16:9)"; voiceover -> "The voiceover";
    composite-1x1 -> "The composite (1:1)"; a job without a name -> "The job"."""
    base, _, placement = (name or "").partition("-")
    where = f" ({placement.replace('x', ':')})" if placement else ""
    if base.startswith("scene_"):
        return f"Scene {base.removeprefix('scene_')}{where}"
    return STEP_LABELS[base] + where if base in STEP_LABELS else "The job"


def sentence(name: str | None, clause: str) -> str:
    return f"{label(name)} failed: {clause.rstrip('.')}."


def worker_lost(times: int) -> str:
    return (
        "the worker running it stopped unexpectedly"
        if times == 1
        else f"the worker running it stopped unexpectedly {times} times; it is not run again"
    )
