"""The values and errors that the generation steps, the providers and the local renderer pass
between them: what to make (Scene, Size), what a call gets besides its inputs (JobIO), and how it
fails (Cancelled, TransientProviderError, PermanentProviderError, InputError).

They sit here rather than in providers/ or render/ because both use them (the local provider
renders with render/), and neither package may depend on the other both ways.

A call reports `progress` as it goes and calls `checkpoint` at least every few seconds; checkpoint
raises Cancelled when the generation was cancelled, so a long render or a remote prediction stops
promptly (a remote one is cancelled at the provider before the exception propagates).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


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
    role: str = "product"  # hook, product, benefit or cta: its part in the script (generation.plan)
    layout: str = "full_bleed"  # how the renderer lays it out, chosen by the plan
    image: int | None = None  # which product image it shows (generation.plan); None: (n-1) mod count


@dataclass(frozen=True)
class BrandKit:
    """How a generation's frames look: the brand's colors and font (services.common.brand_kit) and
    its logo, a local file once the step has fetched it."""

    colors: dict[str, str]  # primary, secondary, background as "#RRGGBB"
    font: str  # a name of services.common.brand_kit.FONTS
    logo: Path | None = None
    name: str = ""  # the brand's title


@dataclass
class JobIO:
    """What a provider or render call gets besides its inputs."""

    workdir: Path  # the job's own temporary directory, removed after the job
    progress: Callable[[int, str], None] = lambda pct, stage: None  # 0-100 within this job, a stage label
    checkpoint: Callable[[], None] = lambda: None  # raises Cancelled
    # Set by the provider when it used a remote job (Replicate's prediction id), for the row.
    remote_job_id: str | None = None
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class SpokenWord:
    """A word of the voiceover and when it is heard: in the ad's timeline once placed."""

    text: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class VoiceSettings:
    """How the voiceover speaks: a voice of services.common.voices and a pace (1.0 is the voice's
    normal rate)."""

    voice: str
    language: str
    rate: float = 1.0


@dataclass(frozen=True)
class MusicSettings:
    """The generated music bed: a mood of services.jobs.render.music and a tempo (None: the mood's)."""

    mood: str = "upbeat"
    tempo_bpm: int | None = None
