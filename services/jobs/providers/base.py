"""The interface every generation provider implements, and the values passed across it.

A provider turns one step of a generation into a local file: a scene's video, the voiceover, the
music. The pipeline (services.jobs.generation) downloads the inputs into the job's own temporary
directory, calls the provider, and stores the output in S3 through media. The composite of scenes,
voiceover and music is always made locally (services.jobs.render.composite), whatever the provider.

Providers are synchronous: they run inside an RQ work horse. They call `progress` as they go and
`checkpoint` at least every few seconds; checkpoint raises Cancelled when the generation was
cancelled, so a long render or a remote prediction stops promptly (a remote one is cancelled at the
provider before the exception propagates).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


class Cancelled(Exception):
    """The generation was cancelled; the job stops at this checkpoint."""


class TransientProviderError(Exception):
    """Worth retrying with backoff: a timeout, a 429, a 5xx, a connection reset."""


class PermanentProviderError(Exception):
    """Retrying cannot help (bad input, a failed prediction, a refused model): fail the job now,
    with the provider's own message."""


class InputError(PermanentProviderError):
    """An input the job was given is unusable (a corrupt or oversized image, say)."""


@dataclass(frozen=True)
class Size:
    width: int
    height: int
    fps: int = 30


@dataclass(frozen=True)
class Scene:
    n: int  # 1-based position in the ad
    description: str
    duration_s: float
    on_screen_text: str | None = None
    voiceover_text: str | None = None


@dataclass
class JobIO:
    """What a provider call gets besides its inputs."""

    workdir: Path  # the job's own temporary directory, removed after the job
    progress: Callable[[int, str], None] = lambda pct, stage: None  # 0-100 within this job, a stage label
    checkpoint: Callable[[], None] = lambda: None  # raises Cancelled
    # Set by the provider when it used a remote job (Replicate's prediction id), for the row.
    remote_job_id: str | None = None
    extra: dict = field(default_factory=dict)


class Provider(Protocol):
    name: str

    def render_scene(
        self, io: JobIO, scene: Scene, images: list[Path], size: Size, out: Path, *, lora: str | None = None
    ) -> None:
        """An H.264 MP4 of exactly scene.duration_s seconds at `size`, silent, into `out`."""

    def voiceover(
        self, io: JobIO, scenes: list[Scene], starts_s: list[float], total_s: float, out: Path
    ) -> None:
        """One audio file of total_s seconds: each scene's voiceover_text spoken from its start
        (starts_s[i] for scenes[i]); silence elsewhere. WAV or MP3 by `out`'s suffix."""

    def music(self, io: JobIO, total_s: float, out: Path) -> None:
        """Background music of total_s seconds into `out` (WAV or MP3 by suffix)."""
