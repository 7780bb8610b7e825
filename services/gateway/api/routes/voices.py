"""/api/voices: the voices a project's voiceover can speak in, and a sample of each.

The catalog is static (services.common.voices). The samples are MP3s that a jobs worker renders
when it starts and stores through media (services.jobs.worker.voice_samples); the sample route
redirects to the stored file, so the audio never passes through the gateway. A sample found
missing is queued for rendering through jobs and answered 503 with Retry-After until it is stored
(about a second's work on an idle worker). It needs no token: an <audio> element cannot send one,
and the samples are the same for everyone.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response
from fastapi.responses import RedirectResponse

from services.common.voices import VOICES, sample_name
from services.gateway.auth import CurrentCaller
from services.gateway.clients import Jobs, Media, presigned_urls
from services.gateway.errors import error_response
from services.gateway.schemas.common import Limit, Page
from services.gateway.schemas.voices import VoiceOut
from zapcut.jobs.v1 import jobs_pb2
from zapcut.media.v1 import media_pb2

router = APIRouter(prefix="/voices", tags=["projects"])

SAMPLE_URL_EXPIRY_S = 3600
SAMPLE_RETRY_AFTER_S = "2"


@router.get(
    "",
    response_model=Page[VoiceOut],
    operation_id="listVoices",
    summary="The voices a project's voiceover can use, with their language and a sample",
    responses={422: {"description": "limit out of range, a cursor this API did not hand out"}},
)
async def list_voices(
    caller: CurrentCaller, limit: Limit = 20, cursor: str = "", language: str = ""
) -> Page[VoiceOut]:
    """`language` (a BCP 47 tag such as `en-US`, or just `en`) keeps the voices that speak it."""
    wanted = language.lower()
    ids = [
        v.id
        for v in VOICES.values()
        if not wanted or v.language.lower() == wanted or v.language.lower().split("-")[0] == wanted
    ]
    # A short static catalog: the cursor is the id of the last voice of the previous page.
    if cursor and cursor not in ids:
        raise HTTPException(422, "cursor is not one this API handed out")
    start = ids.index(cursor) + 1 if cursor else 0
    page = ids[start : start + limit]
    more = start + limit < len(ids)
    return Page(
        items=[
            VoiceOut(
                id=v.id,
                name=v.name,
                language=v.language,
                gender=v.gender,
                sample_url=f"/api/voices/{v.id}/sample",
            )
            for v in (VOICES[i] for i in page)
        ],
        next_cursor=page[-1] if more and page else None,
    )


@router.get(
    "/{voice_id}/sample",
    operation_id="getVoiceSample",
    summary="A short MP3 of the voice: a redirect to the stored file",
    status_code=307,
    response_class=Response,
    responses={
        307: {"description": "Location: the MP3 (audio/mpeg), presigned for an hour"},
        404: {"description": "no voice with this id"},
        503: {
            "description": "the sample is being rendered (Retry-After says when to try again), or "
            "media or jobs is unavailable"
        },
    },
)
async def get_voice_sample(voice_id: str, media: Media, jobs: Jobs) -> Response:
    if voice_id not in VOICES:
        raise HTTPException(404, f"no voice {voice_id!r}: GET /api/voices lists them")
    ref = media_pb2.ObjectRef(voice_sample=media_pb2.VoiceSample(name=sample_name(voice_id)))
    stored = await media.ObjectExists(media_pb2.ObjectRequest(ref=ref))
    if not stored.exists:
        await jobs.RenderVoiceSample(jobs_pb2.RenderVoiceSampleRequest(voice_id=voice_id))
        return error_response(
            503,
            "unavailable",
            "the voice's sample is being rendered: try again in a few seconds",
            headers={"Retry-After": SAMPLE_RETRY_AFTER_S},
            service="worker",
        )
    key = f"voice-samples/{sample_name(voice_id)}"
    urls = await presigned_urls(media, [key], SAMPLE_URL_EXPIRY_S)
    return RedirectResponse(urls[key], status_code=307)
