"""The voice catalog's samples (services.common.voices): each voice speaks its language's sample
sentence, stored through media as voice-samples/{name}.mp3, which GET /api/voices/{id}/sample hands
out. A sample's name changes with whatever changes its sound, so only missing ones are rendered.

Two ways in, one renderer (`render_sample`):
- a worker, when it starts, renders the missing ones (about a second for the catalog), so a release's
  samples are there before anyone asks; the others find them stored. It runs in a child process,
  which the worker does not wait for: eSpeak NG keeps global state, and the worker forks a work horse
  per job, so its own process never loads the engine. While media is unreachable the child tries
  again with backoff.
- a sample found missing later (the bucket lost it, or every worker started while media was down)
  is rendered on demand: the gateway asks jobs (RenderVoiceSample), which queues an RQ job
  (`render_voice_sample` in services.jobs.worker.tasks); the route answers 503 with Retry-After
  until it is stored.
"""

from __future__ import annotations

import logging
import multiprocessing
import tempfile
import time
from pathlib import Path

from services.common.voices import VOICES, sample_name, sample_text
from services.jobs.clients import ServiceCallFailed, ServiceCalls
from services.jobs.config import Settings
from services.jobs.media_types import JobIO
from zapcut.media.v1 import media_pb2

log = logging.getLogger(__name__)

GIVE_UP_S = 600.0  # media not reachable for this long: the next worker start tries again
RETRY_MIN_S, RETRY_MAX_S = 1.0, 15.0
UPLOAD_TIMEOUT_S = 30.0


def render_missing_in_child(settings: Settings) -> multiprocessing.process.BaseProcess:
    """Start rendering in a child process and return at once: the worker does not wait for it."""
    child = multiprocessing.get_context("fork").Process(
        target=render_missing, args=(settings,), name="voice-samples", daemon=True
    )
    child.start()
    return child


def render_missing(settings: Settings) -> None:
    """Render and store the samples not stored yet, trying again while media is unreachable (a stack
    starting, media restarting) for up to GIVE_UP_S."""
    deadline = time.monotonic() + GIVE_UP_S
    delay_s = RETRY_MIN_S
    while True:
        try:
            _render_missing(settings)
            return
        except Exception as exc:  # noqa: BLE001 - a sample is never worth the worker; say why and retry
            if time.monotonic() + delay_s > deadline:
                log.warning("worker: voice samples not rendered: %s; the next worker start tries again", exc)
                return
            # Media restarting is the usual cause; anything else (a failed encode, a reset upload)
            # is retried the same way rather than leaving the samples missing until a restart.
            waiting_for_media = isinstance(exc, ServiceCallFailed) and exc.transient
            log.log(
                logging.INFO if waiting_for_media else logging.WARNING,
                "worker: voice samples not rendered yet (%s); again in %.0f s",
                exc,
                delay_s,
            )
            time.sleep(delay_s)
            delay_s = min(delay_s * 2, RETRY_MAX_S)


def _render_missing(settings: Settings) -> None:
    calls = ServiceCalls(settings)
    try:
        rendered = sum(render_sample(calls, voice_id) for voice_id in VOICES)
        log.info("worker: %d voice samples rendered, %d already stored", rendered, len(VOICES) - rendered)
    finally:
        calls.close()


def render_sample(calls: ServiceCalls, voice_id: str) -> bool:
    """Render and store the voice's sample unless it is stored; True if this call rendered it."""
    from services.jobs.render import audio, speech  # the renderer, only where a sample is made

    ref = media_pb2.ObjectRef(voice_sample=media_pb2.VoiceSample(name=sample_name(voice_id)))
    if calls.object_exists(ref):
        return False
    with tempfile.TemporaryDirectory(prefix="zapcut-voice-sample-") as tmp:
        said = speech.synthesize(sample_text(voice_id), voice=VOICES[voice_id].engine_voice)
        out = Path(tmp) / sample_name(voice_id)
        audio.write_audio(JobIO(workdir=Path(tmp)), audio.level(said.samples)[:, None], said.sample_rate, out)
        calls.upload_file(ref, out, "audio/mpeg", timeout_s=UPLOAD_TIMEOUT_S)
    return True
