"""gRPC servicer of jobs: translates between protobuf and the domain modules."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime

from redis import Redis
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.context import caller_id
from services.common.db import ping
from services.common.errors import NotFound
from services.common.ids import parse_id
from services.common.outbox import OutboxRelay
from services.common.probes import DependencyCheck
from services.common.settings import secret_value
from services.common.timestamps import timestamp
from services.common.voices import VOICES
from services.jobs.config import Settings
from services.jobs.generation import cancel, queries, regenerate, start
from services.jobs.generation.plan import overall_progress, placements, step_position
from services.jobs.lora import api as lora
from services.jobs.queue import job_records, rq_jobs
from services.jobs.queue.create_job import create_job
from services.jobs.replicate_webhooks import receive
from services.jobs.webhooks import endpoints
from services.jobs.webhooks.secrets_box import SecretBox
from zapcut.jobs.v1 import jobs_pb2, jobs_pb2_grpc


class JobsServicer(jobs_pb2_grpc.JobsServicer):
    def __init__(
        self,
        engine: AsyncEngine,
        redis: Redis,
        settings: Settings,
        *,
        accounts=None,
        media=None,
        relay: OutboxRelay,
    ):
        self.engine = engine
        self.redis = redis
        self.settings = settings
        self.queue = rq_jobs.queue(redis, settings)
        self.accounts = accounts
        self.media = media
        # Nudged after a call that wrote an event for accounts, so it is published at once.
        self.relay = relay
        self.dependencies = DependencyCheck(
            {"postgres": lambda: ping(engine), "redis": lambda: asyncio.to_thread(redis.ping)},
            settings.probe_timeout_s,
        )
        self.secrets = SecretBox(secret_value(settings.secret_key))

    async def CreateJob(self, request, context):
        row = await create_job(
            self.engine,
            self.queue,
            self.settings,
            ad_project_id=request.ad_project_id,
            job_type=request.job_type,
            input_params_json=request.input_params_json,
        )
        return job_message(row)

    async def GetJob(self, request, context):
        job_id = parse_id(request.id, "id")
        row = await job_records.get(self.engine, job_id)
        if row is None:
            raise NotFound(f"job {job_id} not found")
        return job_message(row)

    async def ListJobs(self, request, context):
        project_id = parse_id(request.ad_project_id, "ad_project_id")
        rows = await job_records.list_for_project(self.engine, project_id)
        return jobs_pb2.ListJobsResponse(jobs=[job_message(row) for row in rows])

    # --- generations

    async def StartGeneration(self, request, context):
        try:
            generation_id = await start.start(
                self.engine,
                self.accounts,
                self.queue,
                self.settings,
                project_id=request.ad_project_id,
                aspect=request.aspect,
                resolution=request.resolution,
                idempotency_key=request.idempotency_key,
                aspects=list(request.aspects),
            )
        finally:
            # generation.started, or the refund of a start that found its generation ended.
            self.relay.nudge()
        return generation_message(*await queries.get(self.engine, request.ad_project_id, str(generation_id)))

    async def GetGeneration(self, request, context):
        return generation_message(
            *await queries.get(self.engine, request.ad_project_id, request.generation_id)
        )

    async def ListGenerations(self, request, context):
        found, next_cursor = await queries.list_page(
            self.engine, request.ad_project_id, request.limit, request.cursor
        )
        return jobs_pb2.ListGenerationsResponse(
            generations=[generation_message(*f) for f in found], next_cursor=next_cursor
        )

    async def RegenerateScene(self, request, context):
        texts = {f: getattr(request, f) for f in ("on_screen_text", "voiceover_text") if request.HasField(f)}
        try:
            generation_id = await regenerate.regenerate_scene(
                self.engine,
                self.accounts,
                self.queue,
                self.settings,
                project_id=request.ad_project_id,
                generation_id=request.generation_id,
                n=request.n,
                texts=texts,
                idempotency_key=request.idempotency_key,
            )
        finally:
            self.relay.nudge()
        return generation_message(*await queries.get(self.engine, request.ad_project_id, str(generation_id)))

    async def CancelGeneration(self, request, context):
        generation_id = await cancel.cancel(
            self.engine, self.redis, self.media, request.ad_project_id, request.generation_id
        )
        self.relay.nudge()
        return generation_message(*await queries.get(self.engine, request.ad_project_id, str(generation_id)))

    # --- LoRA models

    async def StartLoraTraining(self, request, context):
        row = await lora.start(self.engine, self.accounts, self.queue, self.settings, request.brand_id)
        return lora_message(row)

    async def GetLora(self, request, context):
        return lora_message(await lora.latest(self.engine, self.accounts, request.brand_id))

    async def SetLoraApproval(self, request, context):
        return lora_message(
            await lora.set_approval(self.engine, self.accounts, request.brand_id, request.approved)
        )

    # --- Replicate's webhooks

    async def ReceiveReplicateWebhook(self, request, context):
        headers = {
            "webhook-id": request.webhook_id,
            "webhook-timestamp": request.webhook_timestamp,
            "webhook-signature": request.webhook_signature,
        }
        outcome = await asyncio.to_thread(receive.receive, self.redis, self.settings, request.body, headers)
        return jobs_pb2.ReplicateWebhookReceipt(outcome=outcome)

    # --- the voice catalog's samples

    async def RenderVoiceSample(self, request, context):
        if request.voice_id not in VOICES:
            raise NotFound(f"no voice {request.voice_id!r}")
        enqueued = await asyncio.to_thread(rq_jobs.enqueue_voice_sample, self.queue, request.voice_id)
        return jobs_pb2.RenderVoiceSampleResponse(enqueued=enqueued)

    # --- webhook endpoints

    async def CreateWebhookEndpoint(self, request, context):
        row, secret = await endpoints.create(
            self.engine,
            self.settings,
            self.secrets,
            caller_id(),
            url=request.url,
            events=list(request.events),
            description=request.description,
        )
        return endpoint_message(row, secret)

    async def ListWebhookEndpoints(self, request, context):
        rows, next_cursor = await endpoints.page(self.engine, caller_id(), request.limit, request.cursor)
        return jobs_pb2.ListWebhookEndpointsResponse(
            endpoints=[endpoint_message(r) for r in rows], next_cursor=next_cursor
        )

    async def GetWebhookEndpoint(self, request, context):
        return endpoint_message(await endpoints.get(self.engine, caller_id(), request.id))

    async def UpdateWebhookEndpoint(self, request, context):
        row = await endpoints.change(
            self.engine,
            self.settings,
            caller_id(),
            request.id,
            url=request.url if request.HasField("url") else None,
            events=list(request.events) if request.set_events else None,
            description=request.description if request.HasField("description") else None,
            enabled=request.enabled if request.HasField("enabled") else None,
        )
        return endpoint_message(row)

    async def DeleteWebhookEndpoint(self, request, context):
        await endpoints.remove(self.engine, caller_id(), request.id)
        return jobs_pb2.DeleteWebhookEndpointResponse()

    async def RotateWebhookSecret(self, request, context):
        row, secret = await endpoints.rotate_secret(self.engine, self.secrets, caller_id(), request.id)
        return endpoint_message(row, secret)

    async def ListWebhookDeliveries(self, request, context):
        rows, next_cursor = await endpoints.deliveries_page(
            self.engine, caller_id(), request.endpoint_id, request.limit, request.cursor
        )
        return jobs_pb2.ListWebhookDeliveriesResponse(
            deliveries=[delivery_message(r) for r in rows], next_cursor=next_cursor
        )

    async def CheckDependencies(self, request, context):
        return await self.dependencies()


def job_message(row: Row) -> jobs_pb2.Job:
    return jobs_pb2.Job(
        id=str(row.id),
        ad_project_id=str(row.ad_project_id),
        job_type=row.job_type,
        status=row.status,
        input_params_json=json.dumps(row.input_params),
        result_json=json.dumps(row.result) if row.result is not None else "",
        output_url=row.output_url or "",
        error_message=row.error_message or "",
        replicate_job_id=row.replicate_job_id or "",
        created_at=timestamp(row.created_at),
        updated_at=timestamp(row.updated_at),
        started_at=timestamp(row.started_at),
        finished_at=timestamp(row.finished_at),
    )


def generation_message(gen: Row, rows: list[Row], files: list[Row]) -> jobs_pb2.Generation:
    plan = gen.plan or {}
    message = jobs_pb2.Generation(
        id=str(gen.id),
        ad_project_id=str(gen.ad_project_id),
        # "charging" is a moment inside StartGeneration; clients see it as pending.
        status="pending" if gen.status == "charging" else gen.status,
        progress=100
        if gen.status == "completed"
        else overall_progress(plan, [(r.name, r.status, r.progress) for r in rows]),
        aspect=gen.aspect,
        width=plan.get("width", 0),
        height=plan.get("height", 0),
        provider=gen.provider,
        charge=gen.charge or "",
        refunded=gen.refunded_at is not None,
        final_key=gen.final_key or "" if gen.status == "completed" else "",
        error_message=gen.error_message or "",
        duration_s=plan.get("duration_s", 0.0),
        version=gen.version,
        revises_id=str(gen.revises_id) if gen.revises_id else "",
        created_at=timestamp(gen.created_at),
        updated_at=timestamp(gen.updated_at),
        finished_at=timestamp(gen.finished_at),
    )
    if plan.get("aspect"):
        for p in placements(plan):
            message.placements.add(aspect=p["aspect"], width=p["width"], height=p["height"])
    for r in sorted(rows, key=lambda r: step_position(r.name or r.job_type)):
        message.steps.add(
            id=str(r.id),
            name=r.name or r.job_type,
            job_type=r.job_type,
            status=r.status,
            progress=100 if r.status == "completed" else r.progress,
            stage=r.stage or "",
            attempts=r.attempts,
            provider=r.provider or "",
            replicate_job_id=r.replicate_job_id or "",
            output_key=r.output_url or "",
            error_message=r.error_message or "",
            created_at=timestamp(r.created_at),
            started_at=timestamp(r.started_at),
            finished_at=timestamp(r.finished_at),
        )
    if gen.status == "completed":  # a stopped generation's files are being deleted
        for f in files:
            message.outputs.add(kind=f.kind, aspect=f.aspect or "", key=f.key, content_type=f.content_type)
    return message


def lora_message(row: Row) -> jobs_pb2.LoraModel:
    return jobs_pb2.LoraModel(
        id=str(row.id),
        brand_id=str(row.brand_id),
        status=row.status,
        model_url=row.model_url or "",
        preview_image_url=row.preview_image_url or "",
        training_job_id=row.training_job_id or "",
        user_approved=row.user_approved,
        error_message=row.error_message or "",
        trained_at=timestamp(row.trained_at),
        created_at=timestamp(row.created_at),
    )


def endpoint_message(row: Row, secret: str = "") -> jobs_pb2.WebhookEndpoint:
    return jobs_pb2.WebhookEndpoint(
        id=str(row.id),
        url=row.url,
        events=list(row.events),
        description=row.description,
        enabled=row.enabled,
        secret=secret,
        created_at=timestamp(row.created_at),
        updated_at=timestamp(row.updated_at),
    )


def delivery_message(row: Row) -> jobs_pb2.WebhookDelivery:
    message = jobs_pb2.WebhookDelivery(
        id=str(row.id),
        endpoint_id=str(row.endpoint_id),
        event_type=row.event_type,
        payload_json=json.dumps(row.payload),
        status=row.status,
        attempts=row.attempts,
        last_status_code=row.last_status_code or 0,
        last_error=row.last_error or "",
        created_at=timestamp(row.created_at),
        recent_attempts=[
            jobs_pb2.WebhookAttempt(
                at=timestamp(datetime.fromisoformat(a["at"])),
                status_code=a.get("status_code") or 0,
                error=a.get("error") or "",
                duration_ms=a.get("duration_ms") or 0,
            )
            for a in row.recent_attempts
        ],
    )
    if row.status == "pending" and (at := timestamp(row.next_attempt_at)) is not None:
        message.next_attempt_at.CopyFrom(at)
    if (at := timestamp(row.last_attempt_at)) is not None:
        message.last_attempt_at.CopyFrom(at)
    return message
