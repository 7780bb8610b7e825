"""ReplicateProvider: each generation step as a Replicate prediction, its output downloaded at once
(Replicate deletes API outputs after an hour) and fitted locally to the provider contract. The
provider's URLs never leave this module: the pipeline stores the files in our bucket.

Scenes that are design rather than footage (the typographic layout, the end card with the logo and
the call to action) are drawn by the local renderer, with no prediction: a video model cannot draw
the brand's font, logo and exact colors, and the local layouts do so for free. A footage scene's
clip becomes the moving background of a full_bleed scene, with the same animated headline in the
brand's font and colors as a local ad (render/scenes.py), so both providers' ads read alike.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from services.jobs.media_types import (
    BrandKit,
    InputError,
    JobIO,
    MusicSettings,
    Scene,
    Size,
    SpokenWord,
    VoiceSettings,
)
from services.jobs.providers.replicate import media, prompts
from services.jobs.providers.replicate.client import (
    TERMINAL_STATES,
    ClientOptions,
    ModelRef,
    ReplicateClient,
    logs_percent,
    output_urls,
)
from services.jobs.providers.replicate.inputs import (
    MUSIC_INPUTS,
    VIDEO_INPUTS,
    VOICE_INPUTS,
    VideoRequest,
    builder_for,
)
from services.jobs.render import alignment, layouts
from services.jobs.render import scenes as scene_render
from services.jobs.replicate_webhooks.mailbox import Mailbox

log = logging.getLogger(__name__)

MUSIC_FADE_OUT_S = 1.5
# Progress share of the remote part of a step; downloading and fitting take the rest.
REMOTE_SHARE = 90


class ReplicateProvider:
    name = "replicate"

    def __init__(
        self, settings: Any, *, client: ReplicateClient | None = None, mailbox: Mailbox | None = None
    ):
        """From the jobs Settings (REPLICATE_*). Raises PermanentProviderError("replicate provider
        needs REPLICATE_API_TOKEN") without a token, and names a model that has no input mapping,
        so a misconfigured worker fails when it starts rather than mid-job. With a mailbox (and
        REPLICATE_WEBHOOK_URL), predictions advance on their webhook as well as by polling."""
        self.client = client or ReplicateClient(ClientOptions.from_settings(settings), mailbox=mailbox)
        self.video_model = ModelRef.parse(settings.replicate_video_model)
        self.voice_model = ModelRef.parse(settings.replicate_voice_model)
        self.music_model = ModelRef.parse(settings.replicate_music_model)
        self._video_input = builder_for(VIDEO_INPUTS, "video", self.video_model)
        self._voice_input = builder_for(VOICE_INPUTS, "voice", self.voice_model)
        self._music_input = builder_for(MUSIC_INPUTS, "music", self.music_model)

    def close(self) -> None:
        self.client.close()

    # --- Provider --------------------------------------------------------------------------------

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
        io.checkpoint()
        if scene.duration_s <= 0:
            raise InputError(f"scene {scene.n} has no duration")
        if scene.layout not in layouts.PRODUCT_LAYOUTS:
            log.info("scene %s: %s is drawn locally, with no prediction", scene.n, scene.layout)
            scene_render.render_scene(io, scene, images, size, out, brand=brand)
            return
        image = media.image_data_uri(layouts.image_for(scene, images)) if images else None
        model_input = self._video_input(
            VideoRequest(prompts.scene_prompt(scene, brand), image, size, scene.duration_s, lora)
        )
        raw = self._predict_file(
            io,
            self.video_model,
            model_input,
            io.workdir / f"replicate-scene-{scene.n}",
            "video",
            (0, REMOTE_SHARE),
        )
        io.progress(REMOTE_SHARE + 2, "video: fitting")
        footage = io.workdir / f"replicate-scene-{scene.n}-fitted.mp4"
        media.fit_video(raw, footage, size, scene.duration_s)
        io.progress(REMOTE_SHARE + 5, "video: the headline")
        scene_render.render_over_footage(
            dataclasses.replace(io, progress=lambda pct, stage: None), scene, footage, size, out, brand=brand
        )
        io.progress(100, "video: done")

    def voiceover(
        self,
        io: JobIO,
        scenes: list[Scene],
        starts_s: list[float],
        total_s: float,
        out: Path,
        *,
        voice: VoiceSettings | None = None,
    ) -> list[SpokenWord]:
        """`voice` (None: the catalog's default) as the voice model's own voice, language and speed
        (inputs.py maps our catalog onto each model's voices). The models tell no word times, so
        each clip's words are placed by its energy envelope (render/alignment.py) for the captions."""
        io.checkpoint()
        if total_s <= 0:
            raise InputError("the voiceover has no duration")
        spoken = [
            (scene, start)
            for scene, start in zip(scenes, starts_s, strict=True)
            if scene.voiceover_text and scene.voiceover_text.strip()
        ]
        clips: list[tuple[Path, float, float]] = []
        words: list[SpokenWord] = []
        for i, (scene, start) in enumerate(spoken):
            # A line may run on over silent scenes, never into the next spoken one.
            slot_end = spoken[i + 1][1] if i + 1 < len(spoken) else total_s
            span = (REMOTE_SHARE * i // len(spoken), REMOTE_SHARE * (i + 1) // len(spoken))
            model_input = self._voice_input((scene.voiceover_text or "").strip(), voice)
            clip = self._predict_file(
                io,
                self.voice_model,
                model_input,
                io.workdir / f"replicate-voice-{scene.n}",
                "voiceover",
                span,
            )
            clip_s = media.media_duration_s(clip)
            if clip_s and clip_s > slot_end - start:
                log.warning(
                    "voiceover of scene %s is %.1fs, its slot %.1fs: cut", scene.n, clip_s, slot_end - start
                )
            clips.append((clip, start, slot_end - start))
            words += [
                SpokenWord(w.text, start + w.start_s, min(start + w.end_s, slot_end))
                for w in alignment.align(clip, (scene.voiceover_text or "").strip())
                if start + w.start_s < slot_end  # a word cut with its clip is not captioned
            ]
        io.progress(REMOTE_SHARE + 5, "voiceover: mixing")
        media.mix_voice_clips(clips, total_s, out)
        io.progress(100, "voiceover: done")
        return words

    def music(self, io: JobIO, total_s: float, out: Path, *, music: MusicSettings | None = None) -> None:
        """The music model's bed in the mood and tempo of `music`, written into its prompt. (A
        brand's own track never reaches a provider: the music step fits it instead.)"""
        io.checkpoint()
        if total_s <= 0:
            raise InputError("the music has no duration")
        model_input = self._music_input(prompts.music_prompt(music), total_s)
        raw = self._predict_file(
            io, self.music_model, model_input, io.workdir / "replicate-music", "music", (0, REMOTE_SHARE)
        )
        io.progress(REMOTE_SHARE + 5, "music: fitting")
        media.fit_audio(raw, out, total_s, loop=True, fade_out_s=MUSIC_FADE_OUT_S)
        io.progress(100, "music: done")

    # --- one prediction to one local file --------------------------------------------------------

    def _predict_file(
        self, io: JobIO, model: ModelRef, model_input: dict, stem: Path, step: str, span: tuple[int, int]
    ) -> Path:
        """Run one prediction and download its (first) output file next to `stem`."""
        low, high = span
        reported = [low]

        def on_update(prediction: dict) -> None:
            status = prediction.get("status", "")
            fraction = logs_percent(prediction.get("logs"))
            if fraction is None:
                fraction = 1.0 if status in TERMINAL_STATES else 0.1 if status == "processing" else 0.0
            reported[0] = max(reported[0], low + round((high - low) * 0.95 * fraction))
            io.progress(reported[0], f"{step}: {status}")

        prediction = self.client.create_prediction(model, model_input, checkpoint=io.checkpoint)
        io.remote_job_id = prediction["id"]
        log.info("replicate: %s prediction %s on %s", step, prediction["id"], model.model)
        prediction = self.client.wait(prediction, checkpoint=io.checkpoint, on_update=on_update)
        url = output_urls(prediction.get("output"))[0]
        suffix = Path(urlsplit(url).path).suffix or ".bin"
        io.progress(low + round((high - low) * 0.95), f"{step}: downloading")
        path = self.client.download(url, stem.with_name(stem.name + suffix), checkpoint=io.checkpoint)
        io.progress(high, f"{step}: downloaded")
        return path
