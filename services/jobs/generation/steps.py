"""The steps of a generation, as RQ work: scene_n, voiceover, music, composite. `scene`,
`voiceover`, `music` and `composite` are their handlers in the job type registry
(services.jobs.queue.job_types); they run in a work horse with the worker's runtime.

Each step runs in its own temporary directory (removed afterwards, also on failure), reads the
plan fixed at the start, downloads what it needs from our bucket, asks the provider for its output,
and stores that in the bucket through media. Transient provider errors are retried with exponential
backoff (GENERATION_MAX_ATTEMPTS); a permanent one fails the step at once with the provider's message.
Outputs are keyed by generation (scene-videos/{project}/{generation}/scene_{n}.mp4, ...), so a
generation never overwrites another's. A cancelled generation stops each running step at its next
checkpoint and removes what it stored.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
from redis import Redis
from sqlalchemy import Row, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Engine

from services.common import brand_kit
from services.common.db import table_of
from services.common.errors import InvalidArgument
from services.jobs import failures
from services.jobs.clients import ServiceCallFailed, ServiceCalls
from services.jobs.config import Settings
from services.jobs.generation import outcome, rendering, sound
from services.jobs.generation.plan import ASPECTS, for_placement, slug
from services.jobs.media_types import (
    BrandKit,
    Cancelled,
    InputError,
    JobIO,
    PermanentProviderError,
    Scene,
    Size,
    TransientProviderError,
)
from services.jobs.metrics import timed_render
from services.jobs.models import ACTIVE_GENERATION_STATUSES, Generation, GenerationJob, GenerationOutput
from services.jobs.providers.base import Provider
from services.jobs.queue.job_types import JobContext
from services.jobs.render import audio, captions, poster, vtt
from zapcut.media.v1 import media_pb2

log = logging.getLogger(__name__)

generations = table_of(Generation)
steps = table_of(GenerationJob)
outputs = table_of(GenerationOutput)

MAX_IMAGE_BYTES = 40 * 1024 * 1024
MAX_LOGO_BYTES = 10 * 1024 * 1024
MAX_TRACK_BYTES = 50 * 1024 * 1024  # a brand's music file, as the brand files' limit allows
MAX_CAPTIONS_BYTES = 1024 * 1024
CHECK_CANCEL_EVERY_S = 1.0
PROGRESS_EVERY_S = 0.5


def validate_params(params: dict) -> dict:
    try:
        uuid.UUID(str(params.get("generation_id")))
    except ValueError:
        raise InvalidArgument("generation_id must be a UUID") from None
    if "n" in params and not (isinstance(params["n"], int) and params["n"] >= 1):
        raise InvalidArgument("n must be a positive integer")
    if "aspect" in params and params["aspect"] not in ASPECTS:
        raise InvalidArgument(f"aspect must be one of {', '.join(ASPECTS)}")
    return params


@dataclass
class Step:
    """One running step: its row, its generation, and the worker's connections."""

    job_id: str
    generation: Row[Any]  # the generations row
    engine: Engine
    redis: Redis
    calls: ServiceCalls
    settings: Settings
    _last_check: float = 0.0
    _last_progress: float = 0.0

    @property
    def plan(self) -> dict:
        return self.generation.plan

    @property
    def project_id(self) -> str:
        return str(self.generation.ad_project_id)

    @property
    def generation_id(self) -> str:
        return str(self.generation.id)

    def checkpoint(self) -> None:
        now = time.monotonic()
        if now - self._last_check < CHECK_CANCEL_EVERY_S:
            return
        self._last_check = now
        if not outcome.is_active(self.engine, self.generation.id):
            raise Cancelled("the generation was cancelled")

    def progress(self, pct: int, stage: str) -> None:
        now = time.monotonic()
        if now - self._last_progress < PROGRESS_EVERY_S and pct < 100:
            return
        self._last_progress = now
        with self.engine.begin() as conn:
            conn.execute(
                update(steps)
                .where(steps.c.id == uuid.UUID(self.job_id))
                .values(progress=max(0, min(100, int(pct))), stage=stage[:100])
            )

    def io(self, workdir: Path) -> JobIO:
        return JobIO(workdir=workdir, progress=self.progress, checkpoint=self.checkpoint)

    def record(self, **values) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(steps).where(steps.c.id == uuid.UUID(self.job_id)).values(**values))

    def download(self, keys: list[str], into: Path, max_bytes: int) -> list[Path]:
        paths = []
        for i, (key, url) in enumerate(zip(keys, self.calls.presign_downloads(keys), strict=True)):
            path = into / f"in_{i}_{key.rsplit('/', 1)[-1]}"
            with httpx.stream("GET", url, timeout=60) as reply, path.open("wb") as f:
                if reply.status_code != 200:
                    raise TransientProviderError(
                        f"could not fetch {key} from storage: HTTP {reply.status_code}"
                    )
                size = 0
                for chunk in reply.iter_bytes(1024 * 1024):
                    size += len(chunk)
                    if size > max_bytes:
                        raise InputError(f"{key} is larger than {max_bytes} bytes")
                    f.write(chunk)
            paths.append(path)
            self.checkpoint()
        return paths

    def store(
        self,
        ref: media_pb2.ObjectRef,
        path: Path,
        content_type: str,
        *,
        kind: str,
        main: bool = True,
        final: bool = False,
        aspect: str | None = None,
    ) -> str:
        """Upload an output and record it (a generation_outputs row; the step's output_url when it
        is the step's `main` output; the generation's final ad when `final`), or, when the
        generation stopped meanwhile, delete what was just uploaded and stop (Cancelled).

        The check and the record are one transaction holding the generation row (FOR SHARE), and
        whatever stops a generation (cancelling, failing, deleting) writes that row first; cancelling
        and deleting read the keys its steps recorded after that. So either they see this key and
        delete it, or this sees the generation stopped and deletes it here: never neither."""
        key = self.calls.upload_file(
            ref, path, content_type, timeout_s=self.settings.generation_step_timeout_s
        )
        with self.engine.begin() as conn:
            status = conn.scalar(
                select(generations.c.status)
                .where(generations.c.id == self.generation.id)
                .with_for_update(read=True)
            )
            active = status in ACTIVE_GENERATION_STATUSES
            if active:
                # A retried step stores the same key again: the row it recorded the first time stays.
                conn.execute(
                    insert(outputs)
                    .values(
                        generation_id=self.generation.id,
                        job_id=uuid.UUID(self.job_id),
                        kind=kind,
                        aspect=aspect,
                        key=key,
                        content_type=content_type,
                    )
                    .on_conflict_do_nothing(index_elements=["key"])
                )
                if main:
                    conn.execute(
                        update(steps).where(steps.c.id == uuid.UUID(self.job_id)).values(output_url=key)
                    )
                if final:
                    conn.execute(
                        update(generations)
                        .where(generations.c.id == self.generation.id)
                        .values(final_key=key)
                    )
        if not active:
            self._discard(key)
            raise Cancelled("the generation stopped while this step stored its output")
        return key

    def _discard(self, key: str) -> None:
        try:
            self.calls.delete_object(key)
        except grpc.RpcError as exc:
            # Left under the project's folder, so deleting the project still removes it.
            log.warning("job %s: could not delete %s of a stopped generation: %s", self.job_id, key, exc)

    def checkpoint_now(self) -> None:
        self._last_check = 0.0
        self.checkpoint()

    def sibling_result(self, name: str) -> dict:
        """What the generation's step `name` returned when it completed ({} otherwise)."""
        with self.engine.connect() as conn:
            result = conn.scalar(
                select(steps.c.result).where(
                    steps.c.generation_id == self.generation.id,
                    steps.c.name == name,
                    steps.c.status == "completed",
                )
            )
        return result or {}

    def sibling_outputs(self) -> dict[str, str]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(steps.c.name, steps.c.output_url, steps.c.status).where(
                    steps.c.generation_id == self.generation.id
                )
            ).all()
        return {r.name: r.output_url for r in rows if r.status == "completed" and r.output_url}


def _scene(s: dict, duration_s: float | None = None) -> Scene:
    return Scene(
        n=s["n"],
        description=s["description"],
        duration_s=duration_s if duration_s is not None else s["duration_s"],
        on_screen_text=s.get("on_screen_text"),
        voiceover_text=s.get("voiceover_text"),
        # Plans from before the design (generation/design.py) name neither: the product shot.
        role=s.get("role") or "product",
        layout=s.get("layout") or "full_bleed",
        image=s.get("image"),
    )


def _size(plan: dict) -> Size:
    return Size(plan["width"], plan["height"], 30)


def _brand_kit(step: Step, plan: dict, workdir: Path) -> BrandKit:
    """The brand's colors, font and logo as the plan fixed them (start.py writes plan["brand"]);
    the default look for plans without one. The logo is fetched into `workdir` when there is one."""
    given = plan.get("brand") or {}
    try:
        look = brand_kit.look_of({"colors": given.get("colors"), "font": given.get("font")})
    except InvalidArgument as exc:
        raise InputError(f"the brand kit of this generation is unusable: {exc}") from None
    logo = None
    if given.get("logo_key"):
        step.progress(3, "fetching the logo")
        logo_dir = workdir / "logo"
        logo_dir.mkdir()
        logo = step.download([given["logo_key"]], logo_dir, MAX_LOGO_BYTES)[0]
    return BrandKit(colors=look.colors, font=look.font, logo=logo, name=given.get("name") or "")


def scene_step(step: Step, provider: Provider, params: dict, workdir: Path) -> dict:
    # Laid out at its placement's size (params["aspect"]; none: the primary's).
    plan = for_placement(step.plan, params.get("aspect"))
    if not plan["images"]:
        raise InputError("the brand has no product images; upload at least one before generating")
    step.progress(2, "fetching product images")
    images = step.download(plan["images"], workdir, MAX_IMAGE_BYTES)
    spec = next(s for s in plan["scenes"] if s["n"] == params["n"])
    brand = _brand_kit(step, plan, workdir)
    render_s = rendering.scene_render_duration(plan, params["n"])
    out = workdir / f"scene_{params['n']}.mp4"
    io = step.io(workdir)
    provider.render_scene(
        io, _scene(spec, render_s), images, _size(plan), out, lora=plan.get("lora"), brand=brand
    )
    if io.remote_job_id:
        step.record(replicate_job_id=io.remote_job_id)
    step.progress(95, "storing the scene")
    ref = media_pb2.ObjectRef(
        scene_video=media_pb2.SceneVideo(
            project_id=step.project_id,
            generation_id=step.generation_id,
            n=params["n"],
            aspect=_suffixed(step, plan["aspect"]),
        )
    )
    return {"output_key": step.store(ref, out, "video/mp4", kind="scene_video", aspect=plan["aspect"])}


def voiceover_step(step: Step, provider: Provider, params: dict, workdir: Path) -> dict:
    """The voiceover in the project's voice, and its captions (WebVTT, beside the final video) when
    the provider tells the words' times."""
    plan = step.plan
    scenes = [_scene(s) for s in plan["scenes"]]
    starts, total = rendering.scene_starts(plan), plan["duration_s"]
    wav = workdir / "voiceover.wav"
    io = step.io(workdir)
    words = provider.voiceover(io, scenes, starts, total, wav, voice=sound.voice_of(plan))
    captions_key = None
    if words:
        step.progress(85, "storing the captions")
        cue_file = workdir / "captions.vtt"
        cue_file.write_text(vtt.write(captions.cues(words)), encoding="utf-8")
        ref = _generation_file(step, "captions.vtt")
        captions_key = step.store(ref, cue_file, "text/vtt", kind="captions", main=False)
    # The result names the captions: a composite finds them there, also in a later version that
    # reuses this voiceover (services.jobs.generation.regenerate copies the result).
    return _store_audio(step, io, wav, "voiceover") | {"captions_key": captions_key}


def music_step(step: Step, provider: Provider, params: dict, workdir: Path) -> dict:
    """The brand's own track fitted to the ad when the project chose one, else the provider's music
    in the project's mood and tempo."""
    plan = step.plan
    wav = workdir / "music.wav"
    io = step.io(workdir)
    track = sound.track_key(plan)
    if track:
        step.progress(2, "fetching the brand's music")
        (source,) = step.download([track], workdir, MAX_TRACK_BYTES)
        audio.fit_track(io, source, plan["duration_s"], wav)
    else:
        provider.music(io, plan["duration_s"], wav, music=sound.music_of(plan))
    return _store_audio(step, io, wav, "music")


def _store_audio(step: Step, io: JobIO, wav: Path, track: str) -> dict:
    """An audio step's ending: the provider's job id recorded, the WAV encoded to MP3 and stored."""
    if io.remote_job_id:
        step.record(replicate_job_id=io.remote_job_id)
    step.progress(90, "encoding")
    mp3 = rendering.to_mp3(io, wav, wav.with_suffix(".mp3"))
    ref = media_pb2.ObjectRef(
        audio=media_pb2.AudioTrack(
            project_id=step.project_id, generation_id=step.generation_id, type=track, n=1
        )
    )
    return {"output_key": step.store(ref, mp3, "audio/mpeg", kind=track)}


def composite_step(step: Step, provider: Provider, params: dict, workdir: Path) -> dict:
    # One placement's ad: its own scenes, the audio every placement shares.
    plan = for_placement(step.plan, params.get("aspect"))
    suffixed = _suffixed(step, plan["aspect"])
    suffix = f"-{slug(suffixed)}" if suffixed else ""
    outputs = step.sibling_outputs()
    names = [f"scene_{s['n']}{suffix}" for s in plan["scenes"]]
    missing = [n for n in [*names, "voiceover", "music"] if n not in outputs]
    if missing:
        raise PermanentProviderError(f"steps without an output: {', '.join(missing)}")
    step.progress(2, "fetching scenes and audio")
    keys = [outputs[n] for n in names] + [outputs["voiceover"], outputs["music"]]
    files = step.download(keys, workdir, 2 * 1024**3)
    cues = []
    if captions_key := step.sibling_result("voiceover").get("captions_key"):
        (cue_file,) = step.download([captions_key], workdir, MAX_CAPTIONS_BYTES)
        cues = vtt.read(cue_file.read_text(encoding="utf-8"))
    out = workdir / "final_ad.mp4"
    io = step.io(workdir)
    with timed_render("composite", plan["duration_s"]):
        rendering.composite(io, plan, files[: len(names)], files[-2], files[-1], out, cues=cues)
    # Made before anything is stored, so a generation never completes without them.
    step.progress(92, "making the poster and preview")
    still, clip = workdir / "poster.jpg", workdir / "preview.mp4"
    hook_s = rendering.timeline_of(plan).seconds(rendering.timeline_of(plan).scene_frames[0])
    poster.poster(io, out, poster.poster_time_s(hook_s), still)
    poster.preview(io, out, _size(plan), plan["duration_s"], clip)
    step.progress(95, "storing the ad")
    aspect = plan["aspect"]
    for name, path, content_type, kind in (
        (f"poster{suffix}.jpg", still, "image/jpeg", "poster"),
        (f"preview{suffix}.mp4", clip, "video/mp4", "preview"),
    ):
        step.store(_generation_file(step, name), path, content_type, kind=kind, main=False, aspect=aspect)
    if suffix:  # another placement's final video; the generation's own (final_key) is the primary's
        ref = _generation_file(step, f"final_ad{suffix}.mp4")
        return {"output_key": step.store(ref, out, "video/mp4", kind="final_video", aspect=aspect)}
    ref = media_pb2.ObjectRef(
        final_video=media_pb2.FinalVideo(project_id=step.project_id, generation_id=step.generation_id)
    )
    return {"output_key": step.store(ref, out, "video/mp4", kind="final_video", final=True, aspect=aspect)}


def _suffixed(step: Step, aspect: str) -> str:
    """The aspect a placement's files are suffixed with: "" for the primary's (named as before
    placements: scene_2.mp4, final_ad.mp4, poster.jpg)."""
    return "" if aspect == step.plan["aspect"] else aspect


def _generation_file(step: Step, name: str) -> media_pb2.ObjectRef:
    return media_pb2.ObjectRef(
        generation_file=media_pb2.GenerationFile(
            project_id=step.project_id, generation_id=step.generation_id, name=name
        )
    )


def scene(ctx: JobContext, params: dict) -> dict:
    return run(ctx, params, "scene", scene_step)


def voiceover(ctx: JobContext, params: dict) -> dict:
    return run(ctx, params, "voiceover", voiceover_step)


def music(ctx: JobContext, params: dict) -> dict:
    return run(ctx, params, "music", music_step)


def composite(ctx: JobContext, params: dict) -> dict:
    return run(ctx, params, "composite", composite_step)


def run(
    ctx: JobContext, params: dict, job_type: str, make: Callable[[Step, Provider, dict, Path], dict]
) -> dict:
    """Run one step with retries of transient errors; raises Cancelled when the generation stopped."""
    rt = ctx.runtime
    with rt.engine.connect() as conn:
        gen = conn.execute(
            select(generations).where(generations.c.id == uuid.UUID(params["generation_id"]))
        ).one_or_none()
    if gen is None or gen.status not in ("pending", "processing"):
        raise Cancelled("the generation is no longer running")
    step = Step(ctx.job_id, gen, rt.engine, rt.redis, rt.calls, rt.settings)
    outcome.settle(rt.engine, rt.redis, gen.id)  # pending -> processing
    provider = rt.provider
    attempts = rt.settings.generation_max_attempts
    for attempt in range(1, attempts + 1):
        step.record(attempts=attempt, provider=provider.name if job_type != "composite" else "local")
        workdir = Path(tempfile.mkdtemp(prefix=f"zapcut-{job_type}-{ctx.job_id[:8]}-"))
        try:
            return make(step, provider, params, workdir)
        except (TransientProviderError, ServiceCallFailed, httpx.TransportError) as exc:
            reason = _transient_reason(exc)
            if reason is None:
                raise
            if attempt == attempts:
                raise PermanentProviderError(f"{reason}; gave up after {attempts} attempts") from exc
            delay = rt.settings.generation_retry_base_s * 2 ** (attempt - 1)
            log.warning("job %s: attempt %d failed (%r); retrying in %.1f s", ctx.job_id, attempt, exc, delay)
            step.progress(0, f"retrying after: {reason}")
            _sleep_with_checkpoints(step, delay)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    raise AssertionError("unreachable")


def _transient_reason(exc: Exception) -> str | None:
    """What went wrong, as a readable clause, when trying again may help; None when it cannot.

    Besides the provider's own transient errors: media not answering (restarting, or not
    listening yet after a restart of the stack) and storage not reachable for a download."""
    if isinstance(exc, ServiceCallFailed):
        return str(exc) if exc.transient else None
    if isinstance(exc, httpx.TransportError):
        return "the storage could not be reached while fetching the inputs"
    return failures.one_line(exc)


def _sleep_with_checkpoints(step: Step, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(left, 0.5))
        step.checkpoint_now()
