"""/api/projects/{id}/generate and the generation it starts: status, progress, the final ad.

Clients poll GET .../generation (every 5 s is plenty) or follow the same document as server-sent
events from GET .../generation/events.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Path, Request
from fastapi.responses import StreamingResponse

from services.gateway.auth import CurrentCaller
from services.gateway.clients import Accounts, Jobs, Media, MediaAsyncStub, presigned_urls
from services.gateway.errors import ServiceCallError, service_error_response
from services.gateway.schemas.common import Limit, Page, timestamp
from services.gateway.schemas.generations import (
    GenerationOut,
    GenerationStart,
    OutputOut,
    PlacementOut,
    SceneRegenerate,
    StepOut,
)
from zapcut.accounts.v1 import accounts_pb2
from zapcut.jobs.v1 import jobs_pb2

router = APIRouter(prefix="/projects", tags=["generations"])

URL_EXPIRY_S = 3600
TERMINAL = {"completed", "failed", "cancelled"}
EVENTS_POLL_S = 1.0
EVENTS_HEARTBEAT_S = 15.0
EVENTS_MAX_S = 3600.0


async def generation_out(media: MediaAsyncStub, g: jobs_pb2.Generation) -> GenerationOut:
    keys = ([g.final_key] if g.final_key else []) + [s.output_key for s in g.steps if s.output_key]
    keys += [o.key for o in g.outputs]
    urls = await presigned_urls(media, sorted(set(keys)), URL_EXPIRY_S)
    # Each placement's final video, poster and preview (the first of each kind): the outputs of
    # its aspect; a generation from before placements recorded its one's with an aspect or none.
    files: dict[tuple[str, str], str | None] = {}
    for o in reversed(g.outputs):
        files[(o.aspect or g.aspect, o.kind)] = urls.get(o.key)
    sizes = [(p.aspect, p.width, p.height) for p in g.placements] or [(g.aspect, g.width, g.height)]
    placements = [
        PlacementOut(
            aspect=aspect,
            width=width,
            height=height,
            final_url=(urls.get(g.final_key) if g.final_key else None)
            if aspect == g.aspect
            else files.get((aspect, "final_video")),
            poster_url=files.get((aspect, "poster")),
            preview_url=files.get((aspect, "preview")),
        )
        for aspect, width, height in sizes
    ]
    primary = placements[0]
    return GenerationOut(
        id=g.id,
        status=g.status,
        progress=g.progress,
        aspect=g.aspect,
        width=g.width,
        height=g.height,
        aspects=[p.aspect for p in placements],
        placements=placements,
        duration_s=g.duration_s,
        provider=g.provider,
        charge=g.charge or None,
        refunded=g.refunded,
        version=g.version or 1,
        revises_id=g.revises_id or None,
        error_message=g.error_message or None,
        final_url=primary.final_url,
        poster_url=primary.poster_url,
        preview_url=primary.preview_url,
        captions_url=files.get((g.aspect, "captions")),
        outputs=[
            OutputOut(kind=o.kind, aspect=o.aspect or None, content_type=o.content_type, url=urls[o.key])
            for o in g.outputs
            if o.key in urls
        ],
        jobs=[
            StepOut(
                id=s.id,
                name=s.name,
                status=s.status,
                progress=s.progress,
                stage=s.stage or None,
                attempts=s.attempts,
                provider=s.provider or None,
                replicate_job_id=s.replicate_job_id or None,
                output_url=urls.get(s.output_key) if s.output_key else None,
                error_message=s.error_message or None,
                created_at=timestamp(s.created_at),
                started_at=timestamp(s.started_at, s.HasField("started_at")),
                finished_at=timestamp(s.finished_at, s.HasField("finished_at")),
            )
            for s in g.steps
        ],
        created_at=timestamp(g.created_at),
        updated_at=timestamp(g.updated_at),
        finished_at=timestamp(g.finished_at, g.HasField("finished_at")),
    )


@router.post(
    "/{project_id}/generate",
    status_code=202,
    response_model=GenerationOut,
    responses={
        402: {"description": "No free video or credit left"},
        409: {"description": "The script is not approved, or a generation is still running"},
    },
)
async def start_generation(
    project_id: uuid.UUID,
    caller: CurrentCaller,
    jobs: Jobs,
    media: Media,
    body: GenerationStart | None = None,
    idempotency_key: str | None = Header(None, max_length=200),
) -> GenerationOut:
    """Charges a free video or a credit and starts the steps. A retry with the same Idempotency-Key
    returns the same generation without charging again."""
    body = body or GenerationStart()
    generation = await jobs.StartGeneration(
        jobs_pb2.StartGenerationRequest(
            ad_project_id=str(project_id),
            aspect=body.placements[0],
            aspects=body.placements if body.aspects else [],
            resolution=body.resolution,
            # Always a key, so the gRPC retry policy may send this call again after UNAVAILABLE
            # (services/common/service_config.py): a retry returns the generation, never a second one.
            idempotency_key=idempotency_key or f"gateway-{uuid.uuid4()}",
        ),
        timeout=15,
    )
    return await generation_out(media, generation)


@router.post(
    "/{project_id}/generations/{generation_id}/scenes/{n}/regenerate",
    status_code=202,
    response_model=GenerationOut,
    responses={
        402: {"description": "Past the free versions, no free video or credit left"},
        404: {"description": "No such project, generation or scene"},
        409: {"description": "The generation has not completed, or a generation is still running"},
    },
)
async def regenerate_scene(
    project_id: uuid.UUID,
    generation_id: uuid.UUID,
    n: Annotated[int, Path(ge=1, le=1000, description="The scene's number, from 1.")],
    caller: CurrentCaller,
    jobs: Jobs,
    media: Media,
    body: SceneRegenerate | None = None,
    idempotency_key: str | None = Header(None, max_length=200),
) -> GenerationOut:
    """Makes scene `n` of a completed generation again, with new text if given: a new version of
    the generation (returned) renders only that scene and the composite (and the voiceover when its
    text changed) and reuses every other file; the earlier version stays in the history as it was.
    The first REGENERATE_SCENE_FREE_VERSIONS versions are free, later ones are charged like a
    generation."""
    body = body or SceneRegenerate()
    texts = body.model_dump(exclude_unset=True)
    generation = await jobs.RegenerateScene(
        jobs_pb2.RegenerateSceneRequest(
            ad_project_id=str(project_id),
            generation_id=str(generation_id),
            n=n,
            idempotency_key=idempotency_key or f"gateway-{uuid.uuid4()}",
            **{k: v or "" for k, v in texts.items()},
        ),
        timeout=15,
    )
    return await generation_out(media, generation)


@router.get("/{project_id}/generation", response_model=GenerationOut)
async def get_generation(
    project_id: uuid.UUID, caller: CurrentCaller, jobs: Jobs, media: Media
) -> GenerationOut:
    """The latest generation: overall status and percentage, every job, and the final ad's URL."""
    generation = await jobs.GetGeneration(jobs_pb2.GetGenerationRequest(ad_project_id=str(project_id)))
    return await generation_out(media, generation)


@router.get("/{project_id}/generations", response_model=Page[GenerationOut])
async def list_generations(
    project_id: uuid.UUID,
    caller: CurrentCaller,
    accounts: Accounts,
    jobs: Jobs,
    media: Media,
    limit: Limit = 20,
    cursor: str = "",
) -> Page[GenerationOut]:
    """Newest first. 404 for a project that isn't the caller's, like every other project route: jobs
    alone would answer an empty list, indistinguishable from a project with no generations yet."""
    _project, reply = await asyncio.gather(
        accounts.GetProject(accounts_pb2.GetProjectRequest(id=str(project_id))),
        jobs.ListGenerations(
            jobs_pb2.ListGenerationsRequest(ad_project_id=str(project_id), limit=limit, cursor=cursor)
        ),
    )
    return Page(
        items=[await generation_out(media, g) for g in reply.generations],
        next_cursor=reply.next_cursor or None,
    )


@router.post(
    "/{project_id}/generation/cancel",
    response_model=GenerationOut,
    responses={409: {"description": "The generation has already ended"}},
)
async def cancel_generation(
    project_id: uuid.UUID, caller: CurrentCaller, jobs: Jobs, media: Media
) -> GenerationOut:
    """Queued jobs never start, running ones stop at their next checkpoint, stored parts are deleted."""
    generation = await jobs.CancelGeneration(
        jobs_pb2.GetGenerationRequest(ad_project_id=str(project_id)), timeout=15
    )
    return await generation_out(media, generation)


@router.get(
    "/{project_id}/generation/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "generation events"}},
)
async def stream_generation_events(
    project_id: uuid.UUID, request: Request, caller: CurrentCaller, jobs: Jobs, media: Media
) -> StreamingResponse:
    """The GET .../generation document as server-sent events (`event: generation`), sent whenever it
    changes, until the generation ends; a comment line keeps idle connections open."""
    # The first read happens before the stream starts, so a 404 is a plain HTTP error.
    first = await jobs.GetGeneration(jobs_pb2.GetGenerationRequest(ad_project_id=str(project_id)))

    async def events() -> AsyncIterator[str]:
        generation, last, since_sent, waited = first, b"", 0.0, 0.0
        while True:
            # Compared as jobs sent it, before its URLs are signed (they differ at every signing):
            # an unchanged generation costs no call to media.
            fingerprint = generation.SerializeToString(deterministic=True)
            if fingerprint != last:
                body = (await generation_out(media, generation)).model_dump(mode="json")
                yield f"event: generation\nid: {body['updated_at']}\ndata: {json.dumps(body)}\n\n"
                last, since_sent = fingerprint, 0.0
            if generation.status in TERMINAL or waited >= EVENTS_MAX_S or await request.is_disconnected():
                return
            await asyncio.sleep(EVENTS_POLL_S)
            waited += EVENTS_POLL_S
            since_sent += EVENTS_POLL_S
            if since_sent >= EVENTS_HEARTBEAT_S:
                yield ": keep-alive\n\n"
                since_sent = 0.0
            try:
                generation = await jobs.GetGeneration(
                    jobs_pb2.GetGenerationRequest(ad_project_id=str(project_id))
                )
            except ServiceCallError as exc:
                # The same problem document the request would have got, had it failed before streaming.
                yield f"event: error\ndata: {bytes(service_error_response(exc).body).decode()}\n\n"
                return

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
