"""The interface every generation provider implements.

A provider turns one step of a generation into a local file: a scene's video, the voiceover, the
music. The steps (services.jobs.generation.steps) download the inputs into the job's own temporary
directory, call the provider, and store the output in S3 through media. The composite of scenes,
voiceover and music is always made locally (services.jobs.render.composite), whatever the provider.

Providers are synchronous: they run inside an RQ work horse. The values and errors passed across
this interface are in services.jobs.media_types.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from services.jobs.media_types import BrandKit, JobIO, MusicSettings, Scene, Size, SpokenWord, VoiceSettings


class Provider(Protocol):
    name: str

    def render_scene(
        self,
        io: JobIO,
        scene: Scene,
        images: list[Path],
        size: Size,
        out: Path,
        *,
        lora: str | None = None,
        brand: BrandKit | None = None,
    ) -> None:
        """An H.264 MP4 of exactly scene.duration_s seconds at `size`, silent, into `out`, laid out
        as scene.layout says in the brand's colors, font and logo (None: the default look)."""

    def voiceover(
        self,
        io: JobIO,
        scenes: list[Scene],
        starts_s: list[float],
        total_s: float,
        out: Path,
        *,
        voice: VoiceSettings | None = None,
    ) -> list[SpokenWord] | None:
        """One audio file of total_s seconds: each scene's voiceover_text spoken from its start
        (starts_s[i] for scenes[i]) in `voice` (None: the provider's default); silence elsewhere.
        WAV or MP3 by `out`'s suffix. Returns the spoken words with their times in the track, which
        the captions follow, or None when the provider cannot tell them."""

    def music(self, io: JobIO, total_s: float, out: Path, *, music: MusicSettings | None = None) -> None:
        """Background music of total_s seconds into `out` (WAV or MP3 by suffix), in the mood and
        tempo of `music` where the provider can follow them."""
