"""The `local` provider: everything rendered on this machine (services.jobs.render).

Scenes are laid out in the brand's colors and font (render/layouts.py: the product in motion, on
color, beside its headline, a typographic scene, the end card with the logo), the voiceover
is eSpeak NG, the music is synthesized. A LoRA (a model trained on the brand) needs a generative
model, which this provider does not have: it is ignored here.
"""

from __future__ import annotations

import logging
from pathlib import Path

from services.jobs.media_types import BrandKit, JobIO, MusicSettings, Scene, Size, VoiceSettings
from services.jobs.metrics import timed_render
from services.jobs.render import audio, speech
from services.jobs.render import scenes as scene_render

log = logging.getLogger(__name__)


class LocalProvider:
    name = "local"

    def __init__(
        self,
        *,
        voice: str = speech.VOICE,
        scene_encoding: scene_render.Encoding = scene_render.SCENE_ENCODING,
    ):
        self.voice = voice
        self.scene_encoding = scene_encoding

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
        if lora:
            log.info("scene %s: the local provider renders product images; LoRA %s not used", scene.n, lora)
        with timed_render("scene", scene.duration_s):
            scene_render.render_scene(io, scene, images, size, out, brand=brand, encoding=self.scene_encoding)

    def voiceover(
        self,
        io: JobIO,
        scenes: list[Scene],
        starts_s: list[float],
        total_s: float,
        out: Path,
        *,
        voice: VoiceSettings | None = None,
    ) -> None:
        # Takes the interface's voice and music settings; the local voice and bed follow them with
        # the sound part of issue 13 (the steps pass them from then on).
        with timed_render("voiceover", total_s):
            audio.voiceover(io, scenes, starts_s, total_s, out, voice=self.voice)

    def music(self, io: JobIO, total_s: float, out: Path, *, music: MusicSettings | None = None) -> None:
        with timed_render("music", total_s):
            audio.music_track(io, total_s, out)
