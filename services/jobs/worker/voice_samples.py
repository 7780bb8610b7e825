"""The voice catalog's samples (services.common.voices), rendered by a worker when it starts: each
voice speaks its language's sample sentence, stored through media as voice-samples/{name}.mp3,
which GET /api/voices/{id}/sample hands out. A sample's name changes with whatever changes its
sound, so only missing ones are rendered: the first worker of a release renders them (about a
second for the catalog), the others find them stored.

It runs in a child process: eSpeak NG keeps global state, and the worker forks a work horse per
job, so its own process never loads the engine. A failure (media not up yet) is logged, not fatal:
the next worker start tries again, and the route answers 503 meanwhile.
"""

from __future__ import annotations

import logging
import multiprocessing
import tempfile
from pathlib import Path

from services.common.voices import VOICES, sample_name, sample_text
from services.jobs.clients import ServiceCallFailed, ServiceCalls
from services.jobs.config import Settings
from services.jobs.media_types import JobIO
from zapcut.media.v1 import media_pb2

log = logging.getLogger(__name__)

WAIT_S = 120.0
UPLOAD_TIMEOUT_S = 30.0


def render_missing_in_child(settings: Settings) -> None:
    child = multiprocessing.get_context("fork").Process(target=render_missing, args=(settings,), daemon=True)
    child.start()
    child.join(WAIT_S)
    if child.is_alive():
        log.warning("worker: voice samples not rendered within %.0f s; stopped", WAIT_S)
        child.kill()


def render_missing(settings: Settings) -> None:
    from services.jobs.render import audio, speech  # the renderer, in this child only

    calls = ServiceCalls(settings)
    try:
        with tempfile.TemporaryDirectory(prefix="zapcut-voice-samples-") as tmp:
            io = JobIO(workdir=Path(tmp))
            rendered = 0
            for voice_id, voice in VOICES.items():
                ref = media_pb2.ObjectRef(voice_sample=media_pb2.VoiceSample(name=sample_name(voice_id)))
                if calls.object_exists(ref):
                    continue
                said = speech.synthesize(sample_text(voice_id), voice=voice.engine_voice)
                out = Path(tmp) / sample_name(voice_id)
                audio.write_audio(io, audio.level(said.samples)[:, None], said.sample_rate, out)
                calls.upload_file(ref, out, "audio/mpeg", timeout_s=UPLOAD_TIMEOUT_S)
                rendered += 1
            log.info("worker: %d voice samples rendered, %d already stored", rendered, len(VOICES) - rendered)
    except ServiceCallFailed as exc:
        log.warning("worker: voice samples not rendered: %s; the next worker start tries again", exc)
    finally:
        calls.close()
